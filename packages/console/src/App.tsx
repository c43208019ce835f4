/**
 * The console's shell: sign in with an API key, then a navigation bar and the page for the current
 * path. Administration pages are offered only to admin keys (and the API refuses them to others).
 */
import { AuthenticationError, type VidRelay } from "@vidrelay/sdk";
import { type FormEvent, type ReactNode, useEffect, useMemo, useState } from "react";
import { ErrorNote, errorText } from "./components/ui.tsx";
import { AccountsPage } from "./pages/Accounts.tsx";
import { ChannelsPage } from "./pages/Channels.tsx";
import { FilesPage } from "./pages/Files.tsx";
import { KeysPage } from "./pages/Keys.tsx";
import { ModelsPage } from "./pages/Models.tsx";
import { PlaygroundPage } from "./pages/Playground.tsx";
import { TaskDetailPage } from "./pages/TaskDetail.tsx";
import { TasksPage } from "./pages/Tasks.tsx";
import { UsagePage } from "./pages/Usage.tsx";
import { WebhooksPage } from "./pages/Webhooks.tsx";
import { Link, navigate, useLocation } from "./router.tsx";
import {
  makeClient,
  type Session,
  SessionContext,
  storedKey,
  storeKey,
  type WhoAmI,
  whoAmI,
} from "./session.tsx";

interface NavItem {
  path: string;
  label: string;
  admin?: boolean;
}

const NAV: NavItem[] = [
  { path: "/playground", label: "Playground" },
  { path: "/tasks", label: "Tasks" },
  { path: "/files", label: "Files" },
  { path: "/usage", label: "Usage" },
  { path: "/webhooks", label: "Webhooks" },
  { path: "/keys", label: "Keys", admin: true },
  { path: "/channels", label: "Channels", admin: true },
  { path: "/models", label: "Models", admin: true },
  { path: "/accounts", label: "Accounts", admin: true },
];

export function App() {
  const [signedIn, setSignedIn] = useState<{ client: VidRelay; me: WhoAmI } | null>(null);
  const [restoring, setRestoring] = useState(() => storedKey() !== null);

  // A reload of the tab keeps the session: check the stored key again.
  useEffect(() => {
    const key = storedKey();
    if (!key) return;
    const client = makeClient(key);
    whoAmI(client).then(
      (me) => {
        setSignedIn({ client, me });
        setRestoring(false);
      },
      () => {
        storeKey(null);
        setRestoring(false);
      },
    );
  }, []);

  const session = useMemo<Session | null>(
    () =>
      signedIn && {
        ...signedIn,
        signOut: () => {
          storeKey(null);
          setSignedIn(null);
          navigate("/", { replace: true });
        },
      },
    [signedIn],
  );

  if (restoring) return <p className="centered">Loading…</p>;
  if (!session) return <SignIn onSignedIn={(client, me) => setSignedIn({ client, me })} />;
  return (
    <SessionContext.Provider value={session}>
      <Shell session={session} />
    </SessionContext.Provider>
  );
}

function SignIn({ onSignedIn }: { onSignedIn(client: VidRelay, me: WhoAmI): void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) {
      setError("Enter an API key (sk-…).");
      return;
    }
    setBusy(true);
    setError(null);
    const client = makeClient(trimmed);
    try {
      const me = await whoAmI(client);
      storeKey(trimmed);
      onSignedIn(client, me);
    } catch (err) {
      setError(
        err instanceof AuthenticationError
          ? "This API key was not accepted: it is unknown or revoked."
          : `Could not sign in: ${errorText(err)}`,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="sign-in">
      <form onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">vidrelay console</h1>
        <p>Sign in with an API key. It is kept for this browser tab only.</p>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder="sk-…"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? "sign-in-error" : undefined}
        />
        {error ? (
          <div className="field-error" id="sign-in-error" role="alert">
            {error}
          </div>
        ) : null}
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}

function Shell({ session }: { session: Session }) {
  const { path } = useLocation();
  const admin = session.me.account.admin;
  const items = NAV.filter((item) => !item.admin || admin);
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top-bar">
        <span className="brand">vidrelay</span>
        <nav aria-label="Main">
          <ul>
            {items.map((item) => {
              const current = path === item.path || path.startsWith(`${item.path}/`);
              return (
                <li key={item.path}>
                  <Link to={item.path} aria-current={current ? "page" : undefined}>
                    {item.label}
                  </Link>
                </li>
              );
            })}
          </ul>
        </nav>
        <div className="who">
          <span title={session.me.key.id}>
            {session.me.account.name}
            {session.me.key.test_mode ? " · test mode" : ""}
            {admin ? " · admin" : ""}
          </span>
          <button type="button" className="secondary" onClick={session.signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page path={path} admin={admin} />
      </main>
    </div>
  );
}

function Page({ path, admin }: { path: string; admin: boolean }): ReactNode {
  if (path === "/" || path === "/playground") return <PlaygroundPage />;
  if (path === "/tasks") return <TasksPage />;
  const task = /^\/tasks\/([^/]+)$/.exec(path);
  if (task) return <TaskDetailPage taskId={decodeURIComponent(task[1]!)} />;
  if (path === "/files") return <FilesPage />;
  if (path === "/usage") return <UsagePage />;
  if (path === "/webhooks") return <WebhooksPage />;
  const adminPage = {
    "/keys": KeysPage,
    "/channels": ChannelsPage,
    "/models": ModelsPage,
    "/accounts": AccountsPage,
  }[path];
  if (adminPage) {
    if (!admin) return <ErrorNote error={new Error("This page needs an admin account's API key.")} />;
    const AdminPage = adminPage;
    return <AdminPage />;
  }
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no page at <code>{path}</code>. <Link to="/playground">Go to the playground</Link>.
      </p>
    </section>
  );
}
