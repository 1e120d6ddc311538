import { describe, expect, test } from "vitest";
import os from "node:os";
import fs from "node:fs";
import path from "node:path";
import { ConfigError, parseEnv } from "@/server/env";

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-env-"));

describe("environment module", () => {
  test("defaults work with nothing set (embedded database, generated local secrets)", () => {
    const e = parseEnv({ PAIRWISE_DATA_DIR: dataDir });
    expect(e.DATABASE_URL).toBeUndefined();
    expect(e.PORT).toBe(3000);
    expect(e.nextAuthSecret.length).toBeGreaterThanOrEqual(32);
    // generated once, then reused
    expect(parseEnv({ PAIRWISE_DATA_DIR: dataDir }).nextAuthSecret).toBe(e.nextAuthSecret);
    expect(e.checkpointDir).toBe(path.join(dataDir, "checkpoints"));
  });

  test("a wrong variable is named with what is expected", () => {
    expect(() => parseEnv({ PAIRWISE_DATA_DIR: dataDir, DATABASE_URL: "mysql://x" })).toThrow(
      /DATABASE_URL="mysql:\/\/x": expected a URL like postgresql:/,
    );
    expect(() => parseEnv({ PAIRWISE_DATA_DIR: dataDir, PORT: "99999" })).toThrow(ConfigError);
    expect(() => parseEnv({ PAIRWISE_DATA_DIR: dataDir, PORT: "abc" })).toThrow(/PORT="abc"/);
    expect(() => parseEnv({ PAIRWISE_DATA_DIR: dataDir, PAIRWISE_PROCESSES: "worker,gpu" })).toThrow(
      /PAIRWISE_PROCESSES/,
    );
  });

  test("production mode requires its secrets and says how to make them", () => {
    let msg = "";
    try {
      parseEnv({ PAIRWISE_DATA_DIR: dataDir, PAIRWISE_MODE: "production" });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/NEXTAUTH_SECRET/);
    expect(msg).toMatch(/PAIRWISE_ENCRYPTION_KEY/);
    expect(msg).toMatch(/openssl rand/);
    const ok = parseEnv({
      PAIRWISE_DATA_DIR: dataDir,
      PAIRWISE_MODE: "production",
      NEXTAUTH_SECRET: "x".repeat(32),
      PAIRWISE_ENCRYPTION_KEY: "y".repeat(48),
      NEXTAUTH_URL: "https://pairwise.example.com",
    });
    expect(ok.nextAuthSecret).toBe("x".repeat(32));
  });

  test("demo accounts: on in development, off in production unless asked for explicitly", () => {
    const prod = {
      PAIRWISE_DATA_DIR: dataDir,
      PAIRWISE_MODE: "production",
      NEXTAUTH_SECRET: "x".repeat(32),
      PAIRWISE_ENCRYPTION_KEY: "y".repeat(48),
      NEXTAUTH_URL: "https://pairwise.example.com",
    };
    expect(parseEnv({ PAIRWISE_DATA_DIR: dataDir }).PAIRWISE_DEMO).toBe(true);
    expect(parseEnv({ PAIRWISE_DATA_DIR: dataDir, PAIRWISE_DEMO: "false" }).PAIRWISE_DEMO).toBe(false);
    expect(parseEnv(prod).PAIRWISE_DEMO).toBe(false);
    expect(parseEnv({ ...prod, PAIRWISE_DEMO: "true" }).PAIRWISE_DEMO).toBe(true);
  });

  test("OAuth providers need their variables in pairs", () => {
    expect(() => parseEnv({ PAIRWISE_DATA_DIR: dataDir, GITHUB_ID: "abc" })).toThrow(
      /GITHUB_ID and GITHUB_SECRET must be set together/,
    );
    expect(() =>
      parseEnv({ PAIRWISE_DATA_DIR: dataDir, OIDC_CLIENT_ID: "a", OIDC_CLIENT_SECRET: "b" }),
    ).toThrow(/OIDC_ISSUER/);
  });
});
