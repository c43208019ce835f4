/**
 * A small history router for the console's few pages: paths live under the app's base
 * (`/console/`), the gateway answers every such path with index.html, and links are real `<a href>`
 * elements (open in a new tab, keyboard, middle click all work).
 */
import { type AnchorHTMLAttributes, type MouseEvent, useEffect, useState } from "react";

const BASE = import.meta.env.BASE_URL.replace(/\/$/, "");

/** The current page's path inside the console, e.g. `/tasks/task_…` (always starts with `/`). */
export function currentPath(): string {
  const path = window.location.pathname.startsWith(BASE)
    ? window.location.pathname.slice(BASE.length)
    : window.location.pathname;
  return path === "" ? "/" : path;
}

export function href(path: string): string {
  return `${BASE}${path.startsWith("/") ? path : `/${path}`}`;
}

export function navigate(path: string, { replace = false } = {}): void {
  const target = href(path);
  if (replace) window.history.replaceState(null, "", target);
  else window.history.pushState(null, "", target);
  window.dispatchEvent(new PopStateEvent("popstate"));
  window.scrollTo(0, 0);
}

/** The path and query of the current location; re-renders on navigation. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const [state, setState] = useState(() => ({ path: currentPath(), search: window.location.search }));
  useEffect(() => {
    const onPop = () => setState({ path: currentPath(), search: window.location.search });
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  return { path: state.path, query: new URLSearchParams(state.search) };
}

export function Link({ to, onClick, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const handle = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey)
      return;
    event.preventDefault();
    navigate(to);
  };
  return <a href={href(to)} onClick={handle} {...rest} />;
}
