// Secrets at rest: AES-256-GCM with a key derived (HKDF-SHA256) from PAIRWISE_ENCRYPTION_KEY.
// Used for judge API keys; the plaintext only exists in the worker while it calls the endpoint.
//
// Stored form: "v1:<iv>:<tag>:<ciphertext>" (base64url parts). A fresh 12-byte IV per value; the
// 16-byte tag authenticates the ciphertext and the purpose string (as AAD), so a tampered value,
// or one encrypted under another key, fails loudly instead of decrypting to garbage.
//
// No "server-only" import here: the worker and CLI (plain Node processes) decrypt too; nothing in
// app/ or components/ imports this file.
import crypto from "node:crypto";
import { env } from "./env";

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

function deriveKey(secret: string, purpose: string): Buffer {
  if (secret.length < 32)
    throw new Error("The encryption key must be at least 32 characters (PAIRWISE_ENCRYPTION_KEY).");
  return Buffer.from(
    crypto.hkdfSync("sha256", Buffer.from(secret, "utf8"), Buffer.from("pairwise"), Buffer.from(purpose), 32),
  );
}

export interface SecretOptions {
  /** Defaults to env().encryptionKey. */
  key?: string;
  /** Bound into the ciphertext (AAD): a value encrypted for one purpose does not decrypt for another. */
  purpose?: string;
}

/** Encrypts a secret for storage. */
export function encryptSecret(plaintext: string, opts: SecretOptions = {}): string {
  const purpose = opts.purpose ?? "judge-api-key";
  const key = deriveKey(opts.key ?? env().encryptionKey, purpose);
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(purpose, "utf8"));
  const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, iv.toString("base64url"), tag.toString("base64url"), ct.toString("base64url")].join(":");
}

export class SecretDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretDecryptionError";
  }
}

/** Decrypts a value written by encryptSecret; throws SecretDecryptionError naming the likely cause. */
export function decryptSecret(stored: string, opts: SecretOptions = {}): string {
  const purpose = opts.purpose ?? "judge-api-key";
  const parts = stored.split(":");
  if (parts.length !== 4 || parts[0] !== VERSION) {
    throw new SecretDecryptionError(
      `Stored secret has an unknown format (expected "${VERSION}:iv:tag:ciphertext"); set the API key again.`,
    );
  }
  const [, ivB64, tagB64, ctB64] = parts as [string, string, string, string];
  const iv = Buffer.from(ivB64, "base64url");
  const tag = Buffer.from(tagB64, "base64url");
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
    throw new SecretDecryptionError("Stored secret is truncated or corrupted; set the API key again.");
  }
  const key = deriveKey(opts.key ?? env().encryptionKey, purpose);
  try {
    const decipher = crypto.createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(purpose, "utf8"));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(ctB64, "base64url")), decipher.final()]).toString(
      "utf8",
    );
  } catch {
    throw new SecretDecryptionError(
      "Stored secret does not decrypt: PAIRWISE_ENCRYPTION_KEY has changed since it was saved, or the value was altered. " +
        "Restore the previous key, or set the API key again.",
    );
  }
}
