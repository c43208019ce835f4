/** "Copy as": the request as curl, Python (`requests`) or TypeScript (`@vidrelay/sdk`), in tabs. */
import type { VideoCreateParams } from "@vidrelay/sdk";
import { type KeyboardEvent, useState } from "react";
import { copyText } from "../../components/ui.tsx";
import { SNIPPET_LANGUAGES, type SnippetLanguage, snippet } from "./snippets.ts";

export function CopyAs({ origin, body, sent }: { origin: string; body: VideoCreateParams; sent: boolean }) {
  const [language, setLanguage] = useState<SnippetLanguage>("curl");
  const [copied, setCopied] = useState(false);
  const code = snippet(language, origin, body);

  // Arrow keys move between tabs (the WAI-ARIA tabs pattern); Tab goes on to the code.
  const onKeyDown = (event: KeyboardEvent<HTMLButtonElement>) => {
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    event.preventDefault();
    const index = SNIPPET_LANGUAGES.findIndex((l) => l.id === language);
    const next = SNIPPET_LANGUAGES[(index + step + SNIPPET_LANGUAGES.length) % SNIPPET_LANGUAGES.length]!;
    setLanguage(next.id);
    setCopied(false);
    document.getElementById(`copy-as-tab-${next.id}`)?.focus();
  };

  return (
    <section className="panel copy-as" aria-labelledby="copy-as-title">
      <div className="copy-as-head">
        <h2 id="copy-as-title">Copy as</h2>
        <span className="muted">{sent ? "the request that was sent" : "the request Generate will send"}</span>
      </div>
      <div className="tabs" role="tablist" aria-label="Language">
        {SNIPPET_LANGUAGES.map((l) => (
          <button
            key={l.id}
            id={`copy-as-tab-${l.id}`}
            type="button"
            role="tab"
            aria-selected={l.id === language}
            aria-controls="copy-as-code"
            tabIndex={l.id === language ? 0 : -1}
            onKeyDown={onKeyDown}
            onClick={() => {
              setLanguage(l.id);
              setCopied(false);
            }}
          >
            {l.label}
          </button>
        ))}
      </div>
      <pre id="copy-as-code" role="tabpanel" aria-labelledby={`copy-as-tab-${language}`}>
        {code}
      </pre>
      <button
        type="button"
        className="secondary"
        onClick={async () => {
          await copyText(code);
          setCopied(true);
        }}
      >
        {copied ? "Copied" : "Copy"}
      </button>
      <span className="sr-only" aria-live="polite">
        {copied ? "Copied to the clipboard" : ""}
      </span>
    </section>
  );
}
