/**
 * The hub's secret key (like jupyterhub_cookie_secret): 32 random bytes kept in a 0600 file in the data directory,
 * created on first start. It signs XSRF tokens and seals secrets stored in the database (each server's token),
 * so that a copy of the database alone does not open anyone's server.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** Loads the key from `file`, creating it (mode 0600) when missing. */
  static async fromFile(file: string): Promise<SecretBox> {
    try {
      const hex = (await readFile(file, "utf8")).trim();
      const key = Buffer.from(hex, "hex");
      if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte hex key`);
      return new SecretBox(key);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      const key = randomBytes(32);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, key.toString("hex") + "\n", { mode: 0o600, flag: "wx" });
      return new SecretBox(key);
    }
  }

  static fromKey(key: Buffer): SecretBox {
    return new SecretBox(key);
  }

  /** AES-256-GCM; output is "v1.<iv>.<tag>.<ciphertext>" in base64url. */
  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return ["v1", iv, cipher.getAuthTag(), body].map((p) => (typeof p === "string" ? p : p.toString("base64url"))).join(".");
  }

  unseal(sealed: string): string {
    const [version, iv, tag, body] = sealed.split(".");
    if (version !== "v1" || !iv || !tag || body === undefined) throw new Error("not a sealed value");
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64url"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
  }

  /** HMAC-SHA256 of `message`, base64url. */
  sign(message: string): string {
    return createHmac("sha256", this.key).update(message).digest("base64url");
  }

  verify(message: string, signature: string): boolean {
    const expected = Buffer.from(this.sign(message));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}
