import { defineConfig } from "vitest/config";
import path from "node:path";

// Unit tests (tests/unit) need nothing; integration tests (tests/integration) get a real
// database per file from tests/helpers/db.ts; e2e tests (tests/e2e) drive Chromium.
export default defineConfig({
  resolve: {
    alias: {
      "@": path.resolve(import.meta.dirname),
      "server-only": path.resolve(import.meta.dirname, "tests/helpers/server-only-stub.ts"),
    },
  },
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Abuse limits are off in tests (and in the apps e2e tests start), except where a test turns
    // them on to test them (tests/integration/rate-limit.test.ts, tests/e2e/security.test.ts).
    env: { PAIRWISE_RATE_LIMITS: "off" },
    reporters: ["default"],
  },
});
