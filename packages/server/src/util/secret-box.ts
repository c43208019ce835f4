import { createCipheriv, createDecipheriv, createHmac, randomBytes, scryptSync } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * Encrypts secrets at rest (upstream API keys, webhook signing secrets) with AES-256-GCM, under a
 * key ring:
 *
 * - the current secret (VIDRELAY_SECRET; without it, a random secret created once in
 *   `<data dir>/secret.key`, mode 0600, so a laptop install works with zero config) seals and opens;
 * - previous secrets (VIDRELAY_SECRET_PREVIOUS, and a leftover `secret.key` once VIDRELAY_SECRET is
 *   set) only open, so a secret can be replaced: `vidrelay secrets rotate` re-seals every stored
 *   value with the current one (docs/deployment.md, "Rotating VIDRELAY_SECRET").
 *
 * Sealed values name the key that sealed them ("v2.<key id>.…", the key id a fingerprint of the
 * derived key, never the secret), so opening picks its key directly; the older "v1.…" values carry
 * no key id and are opened by trying the ring. Several processes sharing one store must share the
 * ring. Every column holding sealed values is listed in `store/sealed-columns.ts`.
 */

/** A stored secret cannot be opened with this process's key ring; the message names the setting to fix. */
export class SecretKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretKeyError";
  }
}

interface RingKey {
  id: string;
  key: Buffer;
  /** Where the secret came from, for messages: "VIDRELAY_SECRET", "VIDRELAY_SECRET_PREVIOUS #2", a file. */
  source: string;
}

export interface SecretBoxOptions {
  /** Secrets that only open, oldest last or first: order does not matter. */
  previous?: readonly string[];
  /** Names for messages (defaults: VIDRELAY_SECRET, VIDRELAY_SECRET_PREVIOUS #n). */
  source?: string;
  previousSources?: readonly string[];
}

/** What a stored value is, relative to a ring (for `vidrelay secrets status` and rotate). */
export type SealState = "current" | "previous" | "legacy" | "unknown" | "clear";

const V1 = "v1";
const V2 = "v2";

function deriveKey(secret: string, source: string): RingKey {
  const key = scryptSync(secret, "vidrelay/secret-box/v1", 32);
  const id = createHmac("sha256", key).update("vidrelay/secret-box/key-id").digest().subarray(0, 6);
  return { id: id.toString("base64url"), key, source };
}

/** Whether a stored string is a SecretBox value (either format) rather than a secret kept in clear. */
export function isSealed(stored: string): boolean {
  return stored.startsWith(`${V1}.`) || stored.startsWith(`${V2}.`);
}

/**
 * Open a value whose plaintext never looks sealed (webhook signing secrets are `whsec_…`), and open
 * again if it does: a version before the key ring, running beside a newer one in a rolling
 * upgrade, took a "v2." value for a secret in clear and sealed it once more.
 */
export function openUnwrapping(box: SecretBox, sealed: string): string {
  const opened = box.open(sealed);
  return isSealed(opened) ? box.open(opened) : opened;
}

export class SecretBox {
  private readonly current: RingKey;
  private readonly previous: RingKey[];

  constructor(secret: string, options: SecretBoxOptions = {}) {
    this.current = deriveKey(secret, options.source ?? "VIDRELAY_SECRET");
    const seen = new Set([this.current.id]);
    this.previous = [];
    (options.previous ?? []).forEach((old, i) => {
      const ring = deriveKey(old, options.previousSources?.[i] ?? `VIDRELAY_SECRET_PREVIOUS #${i + 1}`);
      if (seen.has(ring.id)) return;
      seen.add(ring.id);
      this.previous.push(ring);
    });
  }

  /**
   * The ring a process's settings describe. Without VIDRELAY_SECRET the generated
   * `<data dir>/secret.key` is the current secret (created on first use); with it, a leftover
   * secret.key still opens what it sealed, so moving to an explicit secret is one `secrets rotate`.
   */
  static fromConfig(config: {
    secret?: string;
    secretPrevious?: readonly string[];
    dataDir: string;
  }): SecretBox {
    const path = join(config.dataDir, "secret.key");
    const previous = [...(config.secretPrevious ?? [])];
    const previousSources = previous.map((_, i) =>
      previous.length === 1 ? "VIDRELAY_SECRET_PREVIOUS" : `VIDRELAY_SECRET_PREVIOUS #${i + 1}`,
    );
    if (config.secret) {
      const leftover = readIfPresent(path);
      if (leftover) {
        previous.push(leftover);
        previousSources.push(`the generated ${path}`);
      }
      return new SecretBox(config.secret, { previous, previousSources });
    }
    if (!existsSync(path)) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, randomBytes(32).toString("base64"), { mode: 0o600, flag: "wx" });
    }
    chmodSync(path, 0o600);
    return new SecretBox(readFileSync(path, "utf8").trim(), {
      previous,
      previousSources,
      source: `the generated ${path} (VIDRELAY_SECRET is not set)`,
    });
  }

  /** The current key's id (a fingerprint of the derived key: safe to print, useless to an attacker). */
  get keyId(): string {
    return this.current.id;
  }

  /** Where the current secret comes from. */
  get source(): string {
    return this.current.source;
  }

  /** The open-only keys: id and where each comes from. */
  get previousKeys(): Array<{ id: string; source: string }> {
    return this.previous.map(({ id, source }) => ({ id, source }));
  }

  /** "v2.<key id>.<iv>.<tag>.<ciphertext>", all base64url; the header is authenticated too. */
  seal(plaintext: string): string {
    const header = `${V2}.${this.current.id}`;
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.current.key, iv);
    cipher.setAAD(Buffer.from(header));
    const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return [header, iv, cipher.getAuthTag(), data]
      .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
      .join(".");
  }

  open(sealed: string): string {
    const parts = sealed.split(".");
    if (parts[0] === V2 && parts.length === 5) {
      const [, id, iv, tag, data] = parts as [string, string, string, string, string];
      const ring = this.find(id);
      if (!ring) throw this.unknownKey(id);
      const opened = decrypt(ring.key, iv, tag, data, `${V2}.${id}`);
      if (opened === undefined) {
        throw new SecretKeyError(
          `cannot decrypt a stored secret sealed with key ${id} (${ring.source}): the value is damaged`,
        );
      }
      return opened;
    }
    if (parts[0] === V1 && parts.length === 4) {
      const [, iv, tag, data] = parts as [string, string, string, string];
      for (const ring of [this.current, ...this.previous]) {
        const opened = decrypt(ring.key, iv, tag, data);
        if (opened !== undefined) return opened;
      }
      throw this.unknownKey(undefined);
    }
    throw new Error("not a sealed secret");
  }

  /**
   * How a stored value relates to this ring. Opening a "v1." value is the only way to tell which key
   * sealed it, so those are "legacy" whatever key opens them (rotate re-seals them all).
   */
  state(stored: string): SealState {
    if (!isSealed(stored)) return "clear";
    if (stored.startsWith(`${V1}.`)) return "legacy";
    const id = stored.split(".")[1] ?? "";
    if (id === this.current.id) return "current";
    return this.find(id) ? "previous" : "unknown";
  }

  private find(id: string): RingKey | undefined {
    return [this.current, ...this.previous].find((ring) => ring.id === id);
  }

  private unknownKey(id: string | undefined): SecretKeyError {
    const ring = [this.current, ...this.previous].map((r) => `${r.id} from ${r.source}`).join(", ");
    return new SecretKeyError(
      `cannot decrypt a stored secret: VIDRELAY_SECRET differs from the one it was sealed with` +
        ` (${id ? `its key id is ${id}` : "an older format without a key id"}; this process has ${ring}).` +
        " Set VIDRELAY_SECRET to the secret it was sealed with, or add that secret to VIDRELAY_SECRET_PREVIOUS" +
        " (comma-separated) and run 'vidrelay secrets rotate'",
    );
  }
}

function decrypt(key: Buffer, iv: string, tag: string, data: string, aad?: string): string | undefined {
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
    if (aad !== undefined) decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString(
      "utf8",
    );
  } catch {
    return undefined;
  }
}

/** A leftover secret.key's secret; an unreadable file only costs what it sealed, not the start. */
function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}
