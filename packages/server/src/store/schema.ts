import type { Generated, Insertable, Selectable, Updateable } from "kysely";
import type { MediaKind } from "../domain/request.ts";

/**
 * Table types shared by SQLite and Postgres. Portable column choices: timestamps are integer unix
 * milliseconds (bigint), booleans are 0/1 integers, structured data is JSON text.
 */
/** `prepaid`: a task needs the balance to cover its worst-case price. `unmetered`: usage and cost are recorded and reported, no balance is needed (limits still apply). */
export const BILLING_MODES = ["prepaid", "unmetered"] as const;
export type BillingMode = (typeof BILLING_MODES)[number];

export interface AccountsTable {
  id: string;
  name: string;
  is_admin: number;
  /** A `BillingMode`. */
  billing_mode: string;
  created_at: number;
}

export interface ApiKeysTable {
  id: string;
  account_id: string;
  name: string;
  key_hash: string;
  /** First characters of the key (e.g. "sk-ab12…"), safe to display. */
  key_prefix: string;
  test_mode: number;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface FilesTable {
  id: string;
  account_id: string;
  storage_key: string;
  token: string;
  filename: string;
  bytes: number;
  content_type: string;
  /** Sniffed from the bytes at upload. */
  kind: MediaKind;
  width: number | null;
  height: number | null;
  duration: number | null;
  sha256: string;
  /** 1: made with a test-mode key, seen only by test-mode keys (domain/owner.ts). */
  test_mode: number;
  created_at: number;
  expires_at: number;
}

export type TaskStatus = "submitted" | "running" | "succeeded" | "failed";

export interface TasksTable {
  id: string;
  account_id: string;
  api_key_id: string;
  model: string;
  status: TaskStatus;
  progress: number;
  prompt: string;
  seconds: number;
  /** The NormalizedRequest the providers receive. */
  request_json: string;
  /** The vendor-parameter echo shown as `metadata` in the task object. */
  metadata_json: string;
  callback_url: string | null;
  provider: string;
  test_mode: number;
  error_code: string | null;
  error_message: string | null;
  /** {width,height,duration,fps,has_audio,bytes} once succeeded. */
  video_json: string | null;
  output_key: string | null;
  poster_key: string | null;
  last_frame_key: string | null;
  /** Unguessable token in the task's public media URLs. */
  media_token: string;
  /** Upstream routing state (null for the local engine). */
  channel_id: string | null;
  upstream_id: string | null;
  /** Opaque adapter data for the upstream task (SubmittedTask.upstreamRef). */
  upstream_ref: string | null;
  /** When the owner deleted it (its media are gone; neither API shows it any more). */
  deleted_at: number | null;
  /** The task this one remixes (POST /v1/videos/{id}/remix). */
  remixed_from: string | null;
  upstream_status: string | null;
  next_poll_at: number | null;
  poll_owner: string | null;
  poll_lease_until: number | null;
  poll_count: number;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  expires_at: number | null;
  updated_at: number;
  /** Unix ms after which an unfinished task fails with `deadline_exceeded` (metadata.deadline_seconds). */
  deadline_at: number | null;
}

export interface IdempotencyKeysTable {
  account_id: string;
  test_mode: number;
  idem_key: string;
  request_hash: string;
  task_id: string;
  created_at: number;
}

export type JobStatus = "queued" | "running" | "done" | "dead";

export interface JobsTable {
  id: string;
  kind: string;
  task_id: string | null;
  payload: string;
  status: JobStatus;
  run_at: number;
  attempts: number;
  max_attempts: number;
  lease_owner: string | null;
  lease_until: number | null;
  last_error: string | null;
  /** Whose work this is (an account id; '' for nobody in particular): claims take turns by it. */
  fair_key: string;
  created_at: number;
  updated_at: number;
}

export interface WebhookSecretsTable {
  account_id: string;
  secret: string;
  /** The secret before the last rotation; still signed with until `previous_expires_at`. */
  previous_secret: string | null;
  previous_expires_at: number | null;
  created_at: number;
  rotated_at: number | null;
}

export type DeliveryStatus = "pending" | "delivered" | "exhausted" | "gone";

export interface WebhookDeliveriesTable {
  /** `msg_…`: also the `webhook-id` header, stable across retries. */
  id: string;
  task_id: string;
  account_id: string;
  url: string;
  /** The task's mode: a test task's deliveries are signed with the test secret. */
  test_mode: number;
  /** The exact bytes POSTed: the task object as GET returned it when the task finished. */
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
}

export interface WebhookAttemptsTable {
  id: string;
  delivery_id: string;
  attempted_at: number;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  /** The first bytes of the receiver's answer, for debugging. */
  response_excerpt: string | null;
}

export interface ChannelsTable {
  id: string;
  name: string;
  provider: string;
  base_url: string;
  /** The upstream API key, sealed with SecretBox (never stored or returned in clear). */
  api_key_sealed: string;
  /** JSON: { [catalogModelId]: upstreamModelId } */
  models_json: string;
  priority: number;
  weight: number;
  max_concurrent: number;
  /** Tasks submitted to this channel and not yet finished: the concurrency cap's counter. */
  in_flight: number;
  enabled: number;
  /** Unguessable path segment of this channel's upstream callback URL. */
  callback_token: string;
  created_at: number;
  updated_at: number;
}

export interface Database {
  accounts: AccountsTable;
  api_keys: ApiKeysTable;
  files: FilesTable;
  tasks: TasksTable;
  idempotency_keys: IdempotencyKeysTable;
  jobs: JobsTable;
  kv: { key: string; value: string; updated_at: number };
  webhook_secrets: WebhookSecretsTable;
  /** The test world's signing secrets (domain/owner.ts), one row per account as above. */
  webhook_test_secrets: WebhookSecretsTable;
  channels: ChannelsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  channel_breakers: { channel_id: string; failures: number; open_until: number; updated_at: number };
  query_budgets: {
    key: string;
    /** The start times handed out, ascending: the last `limit` of them (see providers/query-budget.ts). */
    slots_json: string;
    paused_until: number;
    /** Bumped by every reservation: a writer that read an older version retries (optimistic lock). */
    version: number;
    updated_at: number;
  };
}

export type Account = Selectable<AccountsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type FileRow = Selectable<FilesTable>;
export type NewFile = Insertable<FilesTable>;
export type TaskRow = Selectable<TasksTable>;
export type NewTask = Insertable<TasksTable>;
export type TaskPatch = Updateable<TasksTable>;
export type JobRow = Selectable<JobsTable>;
export type ChannelRow = Selectable<ChannelsTable>;
export type WebhookDelivery = Selectable<WebhookDeliveriesTable>;
export type WebhookAttempt = Selectable<WebhookAttemptsTable>;
export type WebhookSecrets = Selectable<WebhookSecretsTable>;
export type { Generated };
