import { createHash, createPublicKey, type KeyObject, verify } from "node:crypto";
import { callUpstream } from "../http.ts";

/**
 * fal webhook verification (docs/providers.md §4.2): Ed25519 over
 * `"{request_id}\n{user_id}\n{timestamp}\n{sha256_hex(raw body)}"`, the signature hex in
 * `X-Fal-Webhook-Signature`, the public keys an OKP/Ed25519 JWKS. Any key of the set may have
 * signed; the set is cached (24 h) and fetched again when no cached key verifies a message, so a
 * rotation (a new signing key, the old one removed) is picked up without a restart.
 */

export const DEFAULT_FAL_JWKS_URL = "https://rest.alpha.fal.ai/.well-known/jwks.json";

export interface CallbackRequest {
  /** Header names lower case, as node gives them. */
  headers: Record<string, string | string[] | undefined>;
  /** The exact bytes received: the signature covers them, not a re-serialisation. */
  rawBody: Buffer | string;
}

export type WebhookVerdict = { ok: true; requestId: string; body: unknown } | { ok: false; reason: string };

export interface VerifierOptions {
  /** How long a fetched key set is trusted (default 24 h). */
  cacheMs?: number;
  /** After a failed verification, fetch the set again only if the cache is older than this (default 10 s). */
  refetchMinMs?: number;
  /** Accepted distance between the webhook's timestamp and now (default 300 s). */
  toleranceSeconds?: number;
  now?: () => number;
}

interface CachedSet {
  keys: KeyObject[];
  fetchedAt: number;
  pending?: Promise<KeyObject[]>;
}

export class FalWebhookVerifier {
  private readonly sets = new Map<string, CachedSet>();

  constructor(private readonly options: VerifierOptions = {}) {}

  private get now(): number {
    return (this.options.now ?? Date.now)();
  }

  async verify(request: CallbackRequest, jwksUrl: string): Promise<WebhookVerdict> {
    const header = (name: string) => {
      const value = request.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const requestId = header("x-fal-webhook-request-id");
    const userId = header("x-fal-webhook-user-id");
    const timestamp = header("x-fal-webhook-timestamp");
    const signatureHex = header("x-fal-webhook-signature");
    if (!requestId || userId === undefined || !timestamp || !signatureHex)
      return { ok: false, reason: "missing X-Fal-Webhook-* signature headers" };
    if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "malformed webhook timestamp" };
    const skew = Math.abs(this.now / 1000 - Number(timestamp));
    if (skew > (this.options.toleranceSeconds ?? 300))
      return { ok: false, reason: `webhook timestamp is ${Math.round(skew)} s away from now` };
    if (!/^[0-9a-f]{128}$/i.test(signatureHex)) return { ok: false, reason: "malformed webhook signature" };
    const raw = typeof request.rawBody === "string" ? Buffer.from(request.rawBody) : request.rawBody;
    const message = Buffer.from(
      `${requestId}\n${userId}\n${timestamp}\n${createHash("sha256").update(raw).digest("hex")}`,
    );
    const signature = Buffer.from(signatureHex, "hex");

    const verifies = (keys: KeyObject[]) => keys.some((key) => verify(null, message, key, signature));
    let set = this.sets.get(jwksUrl);
    if (!set || this.now - set.fetchedAt > (this.options.cacheMs ?? 24 * 3600_000)) {
      await this.refresh(jwksUrl);
      set = this.sets.get(jwksUrl);
    }
    let ok = !!set && verifies(set.keys);
    if (!ok && set && this.now - set.fetchedAt >= (this.options.refetchMinMs ?? 10_000)) {
      // Maybe the keys rotated since we cached them.
      await this.refresh(jwksUrl);
      const fresh = this.sets.get(jwksUrl);
      ok = !!fresh && verifies(fresh.keys);
    }
    if (!ok) return { ok: false, reason: "no key of the fal JWKS verifies this signature" };
    let body: unknown;
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch {
      return { ok: false, reason: "the signed body is not JSON" };
    }
    const bodyId = (body as { request_id?: unknown } | null)?.request_id;
    if (typeof bodyId === "string" && bodyId !== requestId)
      return { ok: false, reason: "the body's request_id differs from the signed one" };
    return { ok: true, requestId, body };
  }

  /** Fetch a key set (one fetch at a time per URL); keeps the old set if the fetch fails. */
  private async refresh(jwksUrl: string): Promise<void> {
    const current = this.sets.get(jwksUrl);
    if (current?.pending) {
      await current.pending.catch(() => undefined);
      return;
    }
    const pending = fetchKeys(jwksUrl);
    const entry: CachedSet = current ?? { keys: [], fetchedAt: 0 };
    entry.pending = pending;
    this.sets.set(jwksUrl, entry);
    try {
      entry.keys = await pending;
      entry.fetchedAt = this.now;
    } catch {
      // Keep what we had; a later webhook tries again (fal retries failed deliveries).
      entry.fetchedAt = Math.max(entry.fetchedAt, this.now - (this.options.cacheMs ?? 24 * 3600_000));
    } finally {
      entry.pending = undefined;
    }
  }
}

async function fetchKeys(jwksUrl: string): Promise<KeyObject[]> {
  const response = await callUpstream(jwksUrl, { timeoutMs: 10_000 });
  if (response.status !== 200) throw new Error(`the fal JWKS answered ${response.status}`);
  const keys = (response.json as { keys?: unknown } | undefined)?.keys;
  if (!Array.isArray(keys)) throw new Error("the fal JWKS has no keys array");
  const out: KeyObject[] = [];
  for (const jwk of keys) {
    const k = jwk as { kty?: unknown; crv?: unknown; x?: unknown };
    if (k?.kty !== "OKP" || k.crv !== "Ed25519" || typeof k.x !== "string") continue;
    try {
      out.push(createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: k.x }, format: "jwk" }));
    } catch {
      // A malformed key is skipped; the others still count.
    }
  }
  return out;
}
