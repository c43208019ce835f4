import type { UpstreamStatus } from "./types.ts";

/** A failed status (docs/providers.md §6); `retryable` is informational, a failed status ends the task. */
export function failedStatus(code: string, message: string, retryable = false): UpstreamStatus {
  return { type: "failed", code, message, retryable };
}

/** How a moderation refusal reads, at submit or in a task's status; `code` is the provider's own. */
export function moderationMessage(code: string, message: string): string {
  return `the provider's content moderation refused this task${code ? ` (${code})` : ""}: ${message}`;
}

/** A moderation refusal in a task's status: always the code `content_moderated`. */
export function moderatedStatus(code: string, message: string): UpstreamStatus {
  return failedStatus("content_moderated", moderationMessage(code, message));
}

/** A provider reported success but gave no video to collect. */
export function noOutput(name: string): UpstreamStatus {
  return failedStatus("upstream_no_output", `${name} reported success without a video URL`);
}
