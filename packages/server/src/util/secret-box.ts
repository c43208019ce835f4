import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * Encrypts secrets at rest (upstream API keys) with AES-256-GCM. The key comes from
 * VIDRELAY_SECRET; without it, a random secret is created once in `<data dir>/secret.key`
 * (mode 0600) so a laptop install works with zero config. Several processes sharing one store
 * must share VIDRELAY_SECRET.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = scryptSync(secret, "vidrelay/secret-box/v1", 32);
  }

  static fromConfig(config: { secret?: string; dataDir: string }): SecretBox {
    if (config.secret) return new SecretBox(config.secret);
    const path = join(config.dataDir, "secret.key");
    if (!existsSync(path)) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, randomBytes(32).toString("base64"), { mode: 0o600, flag: "wx" });
    }
    chmodSync(path, 0o600);
    return new SecretBox(readFileSync(path, "utf8").trim());
  }

  /** "v1.<iv>.<tag>.<ciphertext>", all base64url. */
  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return ["v1", iv, cipher.getAuthTag(), data]
      .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
      .join(".");
  }

  open(sealed: string): string {
    const [version, iv, tag, data] = sealed.split(".");
    if (version !== "v1" || !iv || !tag || data === undefined) throw new Error("not a sealed secret");
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64url"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    try {
      return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString(
        "utf8",
      );
    } catch {
      throw new Error(
        "cannot decrypt a stored secret: VIDRELAY_SECRET differs from the one it was stored with",
      );
    }
  }
}
