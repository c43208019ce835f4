import assert from "node:assert/strict";
import type { TestServer } from "../helpers/server.ts";

/** Submitting tasks with a callback, for the webhook tests. */

export const quickTask = {
  model: "seedance-1-5-pro-no-audio",
  prompt: "webhook",
  seconds: "4",
  metadata: { resolution: "480p" },
};

export async function submit(t: TestServer, callbackUrl: string, extra: Record<string, unknown> = {}) {
  const res = await t.api("/v1/video/generations", {
    method: "POST",
    json: { ...quickTask, ...extra, metadata: { ...quickTask.metadata, callback_url: callbackUrl } },
  });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { task_id: string }).task_id;
}

/** Submit and cancel at once: a task reaches a terminal state in milliseconds, no render needed. */
export async function submitAndCancel(t: TestServer, callbackUrl: string) {
  const id = await submit(t, callbackUrl);
  const res = await t.api(`/v1/video/generations/${id}/cancel`, { method: "POST" });
  assert.equal(res.status, 200);
  return id;
}
