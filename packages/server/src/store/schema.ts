import type { Generated, Insertable, Selectable, Updateable } from "kysely";

/**
 * Table types shared by SQLite and Postgres. Portable column choices: timestamps are integer unix
 * milliseconds (bigint), booleans are 0/1 integers, structured data is JSON text.
 */
export interface AccountsTable {
  id: string;
  name: string;
  is_admin: number;
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
  kind: string;
  width: number | null;
  height: number | null;
  duration: number | null;
  sha256: string;
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
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  expires_at: number | null;
  updated_at: number;
}

export interface IdempotencyKeysTable {
  account_id: string;
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
}

export type Account = Selectable<AccountsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type FileRow = Selectable<FilesTable>;
export type NewFile = Insertable<FilesTable>;
export type TaskRow = Selectable<TasksTable>;
export type NewTask = Insertable<TasksTable>;
export type TaskPatch = Updateable<TasksTable>;
export type JobRow = Selectable<JobsTable>;
export type { Generated };
