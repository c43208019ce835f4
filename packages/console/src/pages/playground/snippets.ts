/**
 * "Copy as" code for one submit: the exact JSON body, the gateway's origin, and the API key only as
 * the `VIDRELAY_API_KEY` environment variable (the real key never appears in a snippet).
 */
import type { VideoCreateParams } from "@vidrelay/sdk";

export type SnippetLanguage = "curl" | "python" | "typescript";

export const SNIPPET_LANGUAGES: { id: SnippetLanguage; label: string }[] = [
  { id: "curl", label: "curl" },
  { id: "python", label: "Python" },
  { id: "typescript", label: "TypeScript" },
];

export function snippet(language: SnippetLanguage, origin: string, body: VideoCreateParams): string {
  if (language === "curl") return curlSnippet(origin, body);
  if (language === "python") return pythonSnippet(origin, body);
  return typescriptSnippet(origin, body);
}

/** A single-quoted shell word: `'` becomes `'\''`. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

function curlSnippet(origin: string, body: VideoCreateParams): string {
  return [
    `curl -X POST ${shellQuote(`${origin}/v1/video/generations`)} \\`,
    `  -H "Authorization: Bearer $VIDRELAY_API_KEY" \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d ${shellQuote(JSON.stringify(body, null, 2))}`,
  ].join("\n");
}

/** A JSON value as a Python literal (JSON string escapes are valid Python escapes). */
function pythonLiteral(value: unknown, indent: string): string {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number" || typeof value === "string") return JSON.stringify(value);
  const inner = `${indent}    `;
  if (Array.isArray(value)) {
    if (!value.length) return "[]";
    return `[\n${value.map((v) => `${inner}${pythonLiteral(v, inner)},`).join("\n")}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (!entries.length) return "{}";
  const lines = entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${pythonLiteral(v, inner)},`);
  return `{\n${lines.join("\n")}\n${indent}}`;
}

function pythonSnippet(origin: string, body: VideoCreateParams): string {
  return [
    "import os",
    "",
    "import requests",
    "",
    "response = requests.post(",
    `    ${JSON.stringify(`${origin}/v1/video/generations`)},`,
    `    headers={"Authorization": f"Bearer {os.environ['VIDRELAY_API_KEY']}"},`,
    `    json=${pythonLiteral(body, "    ")},`,
    ")",
    "response.raise_for_status()",
    'print(response.json()["task_id"])',
  ].join("\n");
}

function typescriptSnippet(origin: string, body: VideoCreateParams): string {
  const params = JSON.stringify(body, null, 2);
  return [
    'import { VidRelay } from "@vidrelay/sdk";',
    "",
    `const client = new VidRelay({ apiKey: process.env.VIDRELAY_API_KEY, baseURL: ${JSON.stringify(origin)} });`,
    `const task = await client.videos.create(${params});`,
    "const done = await client.videos.wait(task, { onProgress: (t) => console.log(t.status, t.progress) });",
    "console.log(done.url);",
  ].join("\n");
}
