/**
 * The client side of the soak: a steady submitter that behaves like a careful client of a
 * load-balanced gateway. Each submit carries its own Idempotency-Key and a prompt naming its
 * sequence number (so the Ark journal and the store can be searched for it); a submit that gets no
 * answer (network error, 5xx, nothing within 10 s) is sent again, same key and bytes, to the other
 * API process, with back-off, until one answers.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { seededRandom } from "./schedule.ts";

export const MODEL = "seedance-1-5-pro-no-audio";
export const UPSTREAM_MODEL = "doubao-seedance-1-5-pro-251215";
const ANSWER_TIMEOUT_MS = 10_000;

export interface Attempt {
  api: number;
  /** ms since the load started. */
  at: number;
  ms: number;
  outcome: "accepted" | "refused" | "5xx" | "network" | "timeout";
  status?: number;
  detail?: string;
}

export interface Submit {
  seq: number;
  key: string;
  /** The token in the prompt: `soak-<run>-<seq>`, found again in the journal and the store. */
  token: string;
  body: string;
  /** ms since the load started. */
  sentAt: number;
  /** Wall-clock ms of the first send (submit → terminal is measured against the store's clock). */
  sentWall: number;
  attempts: Attempt[];
  state: "pending" | "accepted" | "refused" | "abandoned";
  /** Every distinct task id an answer named, in order: more than one is a key with two tasks. */
  taskIds: string[];
  /** Time to the answer that ended the submit (accepted or refused). */
  latencyMs?: number;
  refusal?: { status: number; code?: string; message?: string };
}

export const tokenOf = (runId: string, seq: number) => `soak-${runId}-${String(seq).padStart(6, "0")}`;
/** Finds a submit's token in any text (a prompt, a journaled upstream body). */
export const tokenPattern = (runId: string) => new RegExp(`soak-${runId}-(\\d{6})`);

export class Submitter {
  readonly submits: Submit[] = [];
  #inFlight = new Set<Promise<void>>();
  #abandon = false;

  constructor(
    readonly apis: string[],
    readonly key: string,
    readonly runId: string,
    readonly seed: number,
    readonly callbackUrl: string,
    readonly clock: () => number,
  ) {}

  /** Submit at `rate` per second for `durationMs`, every submit on its own (a slow one holds no other). */
  async run(rate: number, durationMs: number, signal: AbortSignal): Promise<void> {
    const start = this.clock();
    for (let seq = 0; !signal.aborted; seq++) {
      const due = start + (seq * 1000) / rate;
      if (due >= start + durationMs) break;
      const wait = due - this.clock();
      if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => {});
      if (signal.aborted) break;
      const p = this.#submit(seq);
      this.#inFlight.add(p);
      void p.finally(() => this.#inFlight.delete(p));
    }
  }

  /** Wait for unanswered submits to get an answer, up to `ms`; those left are marked abandoned. */
  async settle(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.#inFlight.size > 0 && Date.now() < deadline) await sleep(250);
    this.#abandon = true;
    await Promise.allSettled([...this.#inFlight]);
  }

  async #submit(seq: number): Promise<void> {
    const token = tokenOf(this.runId, seq);
    const submit: Submit = {
      seq,
      key: `chaos-${this.runId}-${seq}`,
      token,
      body: JSON.stringify({
        model: MODEL,
        prompt: `A lighthouse at dusk, waves rolling in (${token})`,
        seconds: "5",
        metadata: { resolution: "480p", ratio: "16:9", callback_url: this.callbackUrl },
      }),
      sentAt: this.clock(),
      sentWall: Date.now(),
      attempts: [],
      state: "pending",
      taskIds: [],
    };
    this.submits.push(submit);
    const rng = seededRandom(this.seed * 1_000_003 + seq);
    // Spread over both processes as a round-robin balancer would.
    let api = seq % this.apis.length;
    for (let n = 1; ; n++) {
      const at = this.clock();
      const attempt: Attempt = { api, at, ms: 0, outcome: "network" };
      submit.attempts.push(attempt);
      try {
        const res = await fetch(`${this.apis[api]}/v1/video/generations`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${this.key}`,
            "content-type": "application/json",
            "idempotency-key": submit.key,
          },
          body: submit.body,
          signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
        });
        const text = await res.text();
        attempt.ms = this.clock() - at;
        attempt.status = res.status;
        if (res.status >= 500) {
          attempt.outcome = "5xx";
          attempt.detail = text.slice(0, 300);
        } else {
          const json = safeJson(text) as { task_id?: string; error?: { code?: string; message?: string } };
          submit.latencyMs = this.clock() - submit.sentAt;
          if (res.status === 200 && json?.task_id) {
            attempt.outcome = "accepted";
            submit.state = "accepted";
            if (!submit.taskIds.includes(json.task_id)) submit.taskIds.push(json.task_id);
          } else {
            attempt.outcome = "refused";
            submit.state = "refused";
            submit.refusal = { status: res.status, code: json?.error?.code, message: json?.error?.message };
          }
          return;
        }
      } catch (error) {
        attempt.ms = this.clock() - at;
        const e = error as Error & { cause?: { code?: string; message?: string } };
        attempt.outcome = e.name === "TimeoutError" ? "timeout" : "network";
        attempt.detail = e.cause?.code ?? e.cause?.message ?? e.message;
      }
      if (this.#abandon) {
        submit.state = "abandoned";
        return;
      }
      // 250 ms doubling to 4 s, ±25 %: quick enough to ride over a restart, slow enough not to pile on.
      await sleep(Math.min(4_000, 250 * 2 ** (n - 1)) * (0.75 + 0.5 * rng()));
      api = (api + 1) % this.apis.length;
    }
  }

  inFlight(): number {
    return this.#inFlight.size;
  }
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** One call to whichever API process answers, for setup and the final reads (not measured). */
export async function callAny(
  apis: string[],
  key: string,
  path: string,
  init: { method?: string; json?: unknown } = {},
  triesMs = 60_000,
): Promise<{ status: number; json: unknown }> {
  const deadline = Date.now() + triesMs;
  for (let n = 0; ; n++) {
    try {
      const res = await fetch(`${apis[n % apis.length]}${path}`, {
        method: init.method ?? (init.json === undefined ? "GET" : "POST"),
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: init.json === undefined ? undefined : JSON.stringify(init.json),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      if (res.status < 500) return { status: res.status, json: safeJson(text) };
      if (Date.now() > deadline) return { status: res.status, json: safeJson(text) };
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await sleep(500);
  }
}
