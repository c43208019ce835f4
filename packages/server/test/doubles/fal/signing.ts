import { createHash, generateKeyPairSync, type KeyObject, sign } from "node:crypto";

/**
 * The fal double's webhook signing keys (docs/providers.md §4.2): Ed25519 **test** keys, published as an
 * OKP JWKS. `rotate()` makes a new key the signer; the old one stays in the JWKS only when asked.
 */

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export type SignatureFault = "none" | "stale-timestamp" | "bad-signature" | "unknown-key";

export class WebhookKeys {
  #current: SigningKey;
  #published: SigningKey[];
  /** A key that never appears in the JWKS (for the `unknown-key` fault). */
  readonly #stranger: SigningKey;
  #seq = 0;

  constructor() {
    this.#current = this.#generate();
    this.#published = [this.#current];
    this.#stranger = this.#generate("stranger");
  }

  #generate(kid?: string): SigningKey {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    return { kid: kid ?? `fal-double-${++this.#seq}`, privateKey, publicKey };
  }

  get current(): SigningKey {
    return this.#current;
  }

  /** A new signing key; the old one leaves the JWKS unless `keepOld`. */
  rotate(keepOld = false): SigningKey {
    const next = this.#generate();
    this.#published = keepOld ? [next, ...this.#published] : [next];
    this.#current = next;
    return next;
  }

  jwks(): { keys: Array<Record<string, string>> } {
    return {
      keys: this.#published.map((k) => {
        const jwk = k.publicKey.export({ format: "jwk" }) as { kty: string; crv: string; x: string };
        return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid: k.kid, use: "sig", alg: "EdDSA" };
      }),
    };
  }

  /** The `X-Fal-Webhook-*` headers for a body, over `id\nuser\nts\nsha256hex(body)`. */
  headers(
    requestId: string,
    userId: string,
    bodyText: string,
    fault: SignatureFault = "none",
  ): Record<string, string> {
    // Wall-clock seconds: receivers compare with their own clock, whatever the double's simulated time.
    const now = Math.floor(Date.now() / 1000);
    const timestamp = String(fault === "stale-timestamp" ? now - 600 : now);
    const digest = createHash("sha256").update(bodyText).digest("hex");
    const message = Buffer.from(`${requestId}\n${userId}\n${timestamp}\n${digest}`);
    const key = fault === "unknown-key" ? this.#stranger : this.#current;
    const signature = sign(null, message, key.privateKey);
    if (fault === "bad-signature") signature[0] = (signature[0] ?? 0) ^ 0xff;
    return {
      "x-fal-webhook-request-id": requestId,
      "x-fal-webhook-user-id": userId,
      "x-fal-webhook-timestamp": timestamp,
      "x-fal-webhook-signature": signature.toString("hex"),
    };
  }
}
