/**
 * Reading RelayDance-compatible answers as they are found in the wild: our own task object
 * (docs/api.md §4), and the variants other gateways send — `{code, data}` envelopes,
 * `queued`/upper-case statuses, the URL in `url`, `metadata.url`, `result_url` or `video_url`,
 * progress as `"45%"`, errors as objects, strings or `fail_reason`.
 */

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** The task object inside whatever envelope the gateway uses. */
export function unwrap(json: unknown): Json | undefined {
  let value = json;
  for (let depth = 0; depth < 3 && isObject(value); depth++) {
    if (str(value.task_id) || str(value.id) || str(value.status) || str(value.url)) return value;
    if (isObject(value.data)) value = value.data;
    else if (isObject(value.task)) value = value.task;
    else if (isObject(value.result)) value = value.result;
    else return value;
  }
  return isObject(value) ? value : undefined;
}

export function taskIdOf(json: unknown): string | undefined {
  const task = unwrap(json);
  if (!task) return undefined;
  return str(task.task_id) ?? str(task.id) ?? str(task.request_id);
}

export interface RelayTask {
  status: string;
  progress?: number;
  url?: string;
  lastFrameUrl?: string;
  error?: { code: string; message: string };
  seconds?: number;
}

export function readTask(json: unknown): RelayTask | undefined {
  const task = unwrap(json);
  if (!task) return undefined;
  const status = str(task.status) ?? str(task.state) ?? str(task.task_status);
  if (!status) return undefined;
  const metadata = isObject(task.metadata) ? task.metadata : {};
  const video = isObject(task.video) ? task.video : {};
  const nested = isObject(task.data) ? task.data : {};
  const url =
    str(task.url) ??
    str(metadata.url) ??
    str(task.result_url) ??
    str(task.video_url) ??
    str(video.url) ??
    str(nested.url) ??
    str(nested.video_url) ??
    firstString(task.output);
  return {
    status,
    progress: progressOf(task.progress),
    url,
    lastFrameUrl: str(task.last_frame_url) ?? str(metadata.last_frame_url),
    error: errorOf(task),
    seconds: secondsOf(task),
  };
}

function firstString(value: unknown): string | undefined {
  if (typeof value === "string") return str(value);
  if (Array.isArray(value)) return value.map(firstString).find((v) => v);
  if (isObject(value)) return str(value.url) ?? str(value.video_url);
  return undefined;
}

function progressOf(value: unknown): number | undefined {
  const n = typeof value === "string" ? Number.parseFloat(value.replace("%", "")) : value;
  if (typeof n !== "number" || !Number.isFinite(n)) return undefined;
  // Some gateways report 0..1.
  const percent = n > 0 && n <= 1 && typeof value === "number" && !Number.isInteger(value) ? n * 100 : n;
  return Math.max(0, Math.min(100, percent));
}

function errorOf(task: Json): { code: string; message: string } | undefined {
  const e = task.error;
  if (isObject(e)) {
    const message = str(e.message) ?? str(e.msg) ?? str(e.detail);
    const code = str(e.code) ?? (typeof e.code === "number" ? String(e.code) : undefined) ?? str(e.type);
    if (message || code) return { code: code ?? "upstream_failed", message: message ?? code ?? "" };
  }
  if (typeof e === "string" && e) return { code: str(task.error_code) ?? "upstream_failed", message: e };
  const reason = str(task.fail_reason) ?? str(task.error_message) ?? str(task.failure_reason);
  if (reason) return { code: str(task.error_code) ?? "upstream_failed", message: reason };
  return undefined;
}

function secondsOf(task: Json): number | undefined {
  const usage = isObject(task.usage) ? task.usage : {};
  const raw = usage.seconds ?? task.seconds ?? task.duration;
  const n = typeof raw === "string" ? Number(raw) : raw;
  return typeof n === "number" && Number.isFinite(n) && n > 0 ? n : undefined;
}

/** The error envelope of docs/api.md §1, or the variants: `{code, message}`, `{error: "…"}`. */
export function readError(json: unknown, text: string): { code: string; message: string; param?: string } {
  if (isObject(json)) {
    const e = json.error;
    if (isObject(e)) {
      return {
        code: str(e.code) ?? str(e.type) ?? "",
        message: str(e.message) ?? text.slice(0, 300),
        param: str(e.param),
      };
    }
    if (typeof e === "string") return { code: str(json.code) ?? "", message: e };
    const message = str(json.message) ?? str(json.msg) ?? str(json.detail);
    if (message) return { code: str(json.code) ?? "", message };
  }
  return { code: "", message: text.slice(0, 300) };
}
