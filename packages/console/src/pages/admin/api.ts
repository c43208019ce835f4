/**
 * The admin API as the console uses it: response shapes (from the server's zod schemas) and one
 * request helper. Every call goes through the signed-in key's SDK client.
 */
import type { VidRelay } from "@vidrelay/sdk";
import { type RefObject, useEffect, useRef, useState } from "react";
import { errorParam } from "../../components/ui.tsx";

export interface Account {
  id: string;
  object: "account";
  name: string;
  admin: boolean;
  billing_mode: BillingMode;
  created_at: number;
}

/** `prepaid`: tasks need balance; `unmetered`: usage and cost are recorded, no balance is needed. */
export type BillingMode = "prepaid" | "unmetered";

export interface ApiKey {
  id: string;
  object: "api_key";
  name: string;
  account_id: string;
  prefix: string;
  test_mode: boolean;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface KeyCreated extends ApiKey {
  /** The secret: only in this one response. */
  key: string;
  account: Account;
}

export interface Channel {
  id: string;
  object: "channel";
  name: string;
  provider: string;
  base_url: string;
  api_key_hint: string;
  models: Record<string, string>;
  priority: number;
  weight: number;
  max_concurrent: number;
  in_flight: number;
  enabled: boolean;
  created_at: number;
  updated_at: number;
}

export interface ChannelTestResult {
  id: string;
  ok: boolean;
  latency_ms: number;
  error?: string;
}

export interface Limits {
  object: "limits";
  scope: "account" | "key";
  id: string;
  requests_per_minute: number | null;
  max_concurrent: number | null;
  daily_spend_cap_micros: number | null;
  allowed_models: string[] | null;
  updated_at: number | null;
}

export interface Balance {
  object: "balance";
  account_id: string;
  currency: string;
  balance: string;
  held: string;
  available: string;
  balance_micros: number;
}

export interface LedgerEntry {
  id: string;
  kind: string;
  amount: string;
  currency: string;
  task_id: string | null;
  key_id: string | null;
  note: string | null;
  created_at: number;
}

export interface List<T> {
  object: "list";
  data: T[];
  has_more: boolean;
}

type Method = "GET" | "POST" | "PUT" | "PATCH";

export function adminRequest<T>(
  client: VidRelay,
  method: Method,
  path: string,
  options: {
    json?: unknown;
    query?: Record<string, string | number | undefined>;
    signal?: AbortSignal;
    idempotencyKey?: string;
  } = {},
): Promise<T> {
  return client.core.request<T>({ method, path, ...options });
}

/** Every model in the gateway's catalog (the price list names each one, served or not). */
export async function catalogModels(client: VidRelay, signal?: AbortSignal): Promise<string[]> {
  const prices = await adminRequest<List<{ model: string }>>(client, "GET", "/v1/admin/prices", { signal });
  return prices.data.map((p) => p.model);
}

/**
 * A form's submit error, split into the field the API's `param` names (shown on that field) and
 * anything else (shown above the buttons). `fieldOf` maps a param to one of the form's field ids.
 */
export function useFormError<F extends string>(fieldOf: (param: string) => F | undefined) {
  const [error, setError] = useState<unknown>(null);
  const param = errorParam(error);
  const field = param ? fieldOf(param) : undefined;
  return {
    error,
    setError,
    /** The message for `name`, when the API named it. */
    on(name: F): string | null {
      return field === name && error instanceof Error ? error.message : null;
    },
    /** For the named field's control: marked invalid and described by Field's error line. */
    aria(name: F): { "aria-invalid"?: true; "aria-describedby"?: string } {
      return field === name ? { "aria-invalid": true, "aria-describedby": `${name}-error` } : {};
    },
    /** The error when it names no field of this form. */
    general: field ? null : error,
  };
}

/** A text box's value as the API's integer field: "" → null (inherit); other text is sent as typed so
 * the API's own check (and message) applies. */
export function intOrNull(text: string): number | string | null {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  const n = Number(trimmed);
  return Number.isFinite(n) ? n : trimmed;
}

/** Focus this element once, when the panel holding it opens: the button that opened it may now be
 * disabled or gone, and keyboard users should land in the form rather than back at the page top. */
export function useFocusOnOpen<T extends HTMLElement>(): RefObject<T | null> {
  const ref = useRef<T>(null);
  useEffect(() => ref.current?.focus(), []);
  return ref;
}
