import { createHash, timingSafeEqual } from "node:crypto";
import { ApiError } from "../domain/errors.ts";
import type { Owner } from "../domain/owner.ts";
import type { Account, ApiKeyRow } from "../store/schema.ts";
import { sha256Hex } from "../util/ids.ts";
import type { AccountRepository } from "./repository.ts";

export interface Principal {
  account: Account;
  key: ApiKeyRow;
}

/** The objects a key sees: its account's, in the key's mode. */
export function ownerOf(principal: Principal): Owner {
  return { accountId: principal.account.id, testMode: principal.key.test_mode === 1 ? 1 : 0 };
}

const CACHE_TTL_MS = 5_000;
const CACHE_MAX = 10_000;

/**
 * Bearer-key authentication. Successful lookups are cached for a few seconds (keyed by the
 * key's hash, never the key) so hot paths such as polling skip the store; a revocation made in
 * this process clears the cache at once, one made elsewhere takes effect within the TTL.
 */
export class AuthService {
  private readonly cache = new Map<string, { principal: Principal; until: number }>();

  constructor(private readonly accounts: AccountRepository) {}

  async authenticate(header: string | undefined): Promise<Principal> {
    if (!header) {
      throw new ApiError(
        401,
        "authentication_error",
        "missing_api_key",
        "no API key: send it as 'Authorization: Bearer sk-…'",
      );
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      throw new ApiError(
        401,
        "authentication_error",
        "invalid_authorization_header",
        "the Authorization header must be 'Bearer sk-…'",
      );
    }
    const secret = match[1]!;
    const hash = sha256Hex(secret);
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.until > now) return cached.principal;
    const found = await this.accounts.authenticate(secret);
    if (!found) {
      this.cache.delete(hash);
      throw new ApiError(
        401,
        "authentication_error",
        "invalid_api_key",
        // Said to anyone on the network: no paths, no store. The operator's way back in runs where
        // the server's store is (the CLI names the store it opened).
        "this API key is not valid or has been revoked; ask the gateway's operator for a key (on the server's host: 'vidrelay keys create --admin', with the server's settings)",
      );
    }
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(hash, { principal: found, until: now + CACHE_TTL_MS });
    if (!found.key.last_used_at || now - found.key.last_used_at > 60_000) {
      void this.accounts.touchKey(found.key.id, now).catch(() => {});
    }
    return found;
  }

  forgetKey(keyId: string): void {
    for (const [hash, entry] of this.cache) if (entry.principal.key.id === keyId) this.cache.delete(hash);
  }
}

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal;
  }
}

/**
 * Whether an Authorization header may read /metrics: the operator's token (compared in constant
 * time), or a live key of an admin account.
 */
export async function metricsAccess(
  authorization: string | undefined,
  options: { token?: string; auth: Pick<AuthService, "authenticate"> },
): Promise<boolean> {
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
  if (!presented) return false;
  if (options.token) {
    const digest = (text: string) => createHash("sha256").update(text).digest();
    if (timingSafeEqual(digest(options.token), digest(presented))) return true;
  }
  try {
    const principal = await options.auth.authenticate(authorization);
    return principal.account.is_admin === 1 && principal.key.test_mode !== 1;
  } catch {
    return false;
  }
}
