/**
 * Who is calling, as the route layer needs to know it to enforce a route's declared `auth`. The
 * key's concern (keys/auth.ts) authenticates and sets `request.principal`; this is the part of it
 * a permission check reads, so http/ stays below keys/.
 */
import { ApiError } from "../domain/errors.ts";

export interface Caller {
  account: { is_admin: number };
  key: { test_mode: number };
}

/** 403 unless the caller's key is a live key of an admin account. */
export function assertAdmin(caller: Caller): void {
  if (caller.key.test_mode === 1) {
    // Test mode is a world of its own: it cannot reach live keys, accounts, money or channels.
    throw new ApiError(
      403,
      "permission_error",
      "test_mode_key",
      "test-mode keys cannot use administration endpoints; use a live key of an admin account",
    );
  }
  if (caller.account.is_admin !== 1) {
    throw new ApiError(
      403,
      "permission_error",
      "admin_only",
      "this endpoint needs an admin account's API key",
    );
  }
}
