import { VidRelay } from "@vidrelay/sdk";
import {
  baseUrlOf,
  CLIENT_OPTIONS,
  CLIENT_OPTIONS_HELP,
  EXIT,
  type ExitCode,
  explain,
  type Io,
  parse,
} from "./common.ts";

export const DOCTOR_HELP = `vidrelay doctor — check that the gateway answers, the key works and the tools are in place

Usage:
  vidrelay doctor

Checks: the server answers /healthz and /readyz (which includes the store), the API key
authenticates, ffmpeg runs on this machine, and which upstream channels are configured.

${CLIENT_OPTIONS_HELP}

Exit codes: 0 all good, 4 the server cannot be reached or is not ready, 3 the key is refused,
1 another check failed.

Example:
  VIDRELAY_API_KEY=sk-… vidrelay doctor --base-url http://127.0.0.1:8080
`;

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** The exit code this failure implies. */
  code?: ExitCode;
}

/** Records one check's outcome (and prints it as it happens, unless the output is JSON). */
type Report = (check: Check) => void;

export async function doctor(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, CLIENT_OPTIONS);
  if (values.help) {
    io.out(DOCTOR_HELP);
    return EXIT.ok;
  }
  if (positionals.length) {
    io.err("vidrelay: doctor takes no arguments");
    return EXIT.usage;
  }
  const baseUrl = baseUrlOf(values).replace(/\/+$/, "");
  const checks: Check[] = [];
  const report: Report = (check) => {
    checks.push(check);
    if (!values.json) io.out(`${check.ok ? "ok  " : "FAIL"}  ${check.name.padEnd(9)} ${check.detail}`);
  };

  let client: VidRelay | undefined;
  if (await checkServer(baseUrl, report)) {
    await checkReadiness(baseUrl, report);
    const apiKey = (values["api-key"] ?? process.env.VIDRELAY_API_KEY ?? "").trim();
    client = await checkApiKey(baseUrl, apiKey, report);
  }
  for (const check of await mediaToolChecks()) report(check);
  if (client) await checkChannels(client, report);

  if (values.json) io.out(JSON.stringify({ ok: checks.every((c) => c.ok), checks }, null, 2));
  return exitCodeOf(checks);
}

/** The most telling exit code of the failed checks: unreachable first, then a refused key. */
function exitCodeOf(checks: Check[]): ExitCode {
  const failed = checks.filter((c) => !c.ok);
  if (!failed.length) return EXIT.ok;
  const codes = failed.map((c) => c.code ?? EXIT.failed);
  for (const code of [EXIT.network, EXIT.auth]) if (codes.includes(code)) return code;
  return EXIT.failed;
}

/** Whether the server answers /healthz; false when nothing answered at all (no later HTTP check). */
async function checkServer(baseUrl: string, report: Report): Promise<boolean> {
  const health = await getJson(`${baseUrl}/healthz`);
  const reachable = health.status !== undefined;
  report({
    name: "server",
    ok: health.status === 200,
    detail:
      health.status === 200
        ? `${baseUrl} answers /healthz`
        : reachable
          ? `${baseUrl}/healthz answered HTTP ${health.status}`
          : `cannot reach ${baseUrl} (${health.error}) — is 'vidrelay serve' running?`,
    code: EXIT.network,
  });
  return reachable;
}

/** /readyz as a whole, and its store check on its own line. */
async function checkReadiness(baseUrl: string, report: Report): Promise<void> {
  const ready = await getJson(`${baseUrl}/readyz`);
  const store = (ready.body as { checks?: Record<string, string> } | undefined)?.checks?.store;
  report({
    name: "ready",
    ok: ready.status === 200,
    detail: ready.status === 200 ? "/readyz: ready" : `/readyz answered ${ready.status ?? ready.error}`,
    code: EXIT.network,
  });
  report({
    name: "store",
    ok: store === "ok",
    detail: store === "ok" ? "reachable (readyz)" : `not reachable: ${store ?? "no store check in /readyz"}`,
    code: EXIT.network,
  });
}

/** Whether the key authenticates (one model list); the client for later checks when it does. */
async function checkApiKey(baseUrl: string, apiKey: string, report: Report): Promise<VidRelay | undefined> {
  if (!apiKey) {
    report({
      name: "api key",
      ok: false,
      detail: "none: set VIDRELAY_API_KEY or pass --api-key",
      code: EXIT.auth,
    });
    return undefined;
  }
  let client: VidRelay | undefined;
  try {
    client = new VidRelay({ apiKey, baseURL: baseUrl, maxRetries: 0, timeout: 10_000 });
    const list = await client.models.list();
    report({ name: "api key", ok: true, detail: `authenticates (${list.length} models available)` });
  } catch (error) {
    const { code, message } = explain(error, baseUrl);
    report({ name: "api key", ok: false, detail: message, code });
  }
  return client;
}

/**
 * The upstream channels, each tested with one cheap authenticated call. Channels are visible to
 * admin keys only; another key's refusal is reported as not checked, not as a failure.
 */
async function checkChannels(client: VidRelay, report: Report): Promise<void> {
  try {
    const { data } = await client.core.request<{
      data: Array<{ id: string; name: string; enabled: boolean }>;
    }>({
      method: "GET",
      path: "/v1/admin/channels",
    });
    if (data.length === 0) {
      report({
        name: "channels",
        ok: true,
        detail: "none configured (every model is served by the built-in local engine)",
      });
    }
    for (const channel of data) {
      if (!channel.enabled) {
        report({ name: `channel ${channel.name}`, ok: true, detail: `${channel.id}: disabled` });
        continue;
      }
      const result = await client.core.request<{ ok: boolean; latency_ms: number; error?: string }>({
        method: "POST",
        path: `/v1/admin/channels/${channel.id}/test`,
      });
      report({
        name: `channel ${channel.name}`,
        ok: result.ok,
        detail: result.ok
          ? `${channel.id}: key accepted (${result.latency_ms} ms)`
          : `${channel.id}: ${result.error}`,
      });
    }
  } catch (error) {
    const status = (error as { status?: number }).status;
    report({
      name: "channels",
      ok: true,
      detail:
        status === 403
          ? "not visible to this key (admin keys see and test channels)"
          : `not checked: ${(error as Error).message}`,
    });
  }
}

async function getJson(url: string): Promise<{ status?: number; body?: unknown; error?: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, body };
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    return { error: code === "ECONNREFUSED" ? "connection refused" : (code ?? String(error)) };
  }
}

/** Which ffmpeg and ffprobe this machine's gateway uses, why, and whether each one runs. */
async function mediaToolChecks(): Promise<Check[]> {
  try {
    const { mediaTools, MIN_SYSTEM_MAJOR } = await import("../media/ffmpeg.ts");
    const tools = mediaTools();
    return (["ffmpeg", "ffprobe"] as const).map((name) => {
      const tool = tools[name];
      const why =
        tool.source === "env"
          ? `set by VIDRELAY_${name.toUpperCase()}_PATH`
          : tool.source === "system"
            ? "system build on PATH"
            : `bundled static build; install ${name} ${MIN_SYSTEM_MAJOR} or newer (apt-get install ffmpeg) to use a patched system one`;
      return tool.version === "unknown"
        ? { name, ok: false, detail: `not usable: ${tool.path} did not answer -version` }
        : { name, ok: true, detail: `${tool.version} (${tool.path}; ${why})` };
    });
  } catch (error) {
    const detail = `not usable: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
    return [{ name: "ffmpeg", ok: false, detail }];
  }
}
