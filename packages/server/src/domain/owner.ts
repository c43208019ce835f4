/**
 * Whose objects a request sees: an account, in live or in test mode. Test mode is a world of its
 * own (as in Stripe): a test-mode key sees and changes only test tasks, files and deliveries, signs
 * with its own webhook secret, and its Idempotency-Keys never meet a live key's.
 */
export interface Owner {
  accountId: string;
  /** 1: the test world; 0: live. As stored in the `test_mode` columns. */
  testMode: 0 | 1;
}
