import { describe, expect, it } from "vitest";
import { decryptSecret, encryptSecret, SecretDecryptionError } from "@/server/crypto";

const key = "k".repeat(40);
const otherKey = "o".repeat(40);

describe("AES-256-GCM secrets", () => {
  it("round-trips and never stores the plaintext", () => {
    const secret = "sk-test-1234567890abcdef";
    const stored = encryptSecret(secret, { key });
    expect(stored).toMatch(/^v1:[\w-]+:[\w-]+:[\w-]+$/);
    expect(stored).not.toContain(secret);
    expect(decryptSecret(stored, { key })).toBe(secret);
  });

  it("uses a fresh IV per value", () => {
    expect(encryptSecret("same", { key })).not.toBe(encryptSecret("same", { key }));
  });

  it("fails loudly under another key, another purpose, or after tampering", () => {
    const stored = encryptSecret("sk-abc", { key });
    expect(() => decryptSecret(stored, { key: otherKey })).toThrow(SecretDecryptionError);
    expect(() => decryptSecret(stored, { key, purpose: "something-else" })).toThrow(
      /PAIRWISE_ENCRYPTION_KEY has changed/,
    );
    const parts = stored.split(":");
    const ct = Buffer.from(parts[3]!, "base64url");
    ct[0] = ct[0]! ^ 1;
    parts[3] = ct.toString("base64url");
    expect(() => decryptSecret(parts.join(":"), { key })).toThrow(SecretDecryptionError);
    expect(() => decryptSecret("plaintext-key", { key })).toThrow(/unknown format/);
    expect(() => decryptSecret("v1:AAAA:BBBB:CCCC", { key })).toThrow(/truncated or corrupted/);
  });

  it("refuses short keys", () => {
    expect(() => encryptSecret("x", { key: "short" })).toThrow(/at least 32/);
  });
});
