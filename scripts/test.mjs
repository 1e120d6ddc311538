// `npm test`: everything the tests need, then the tests.
//  1. the Prisma client for the current schema;
//  2. Debian's Chromium for browser tests (installed with apt-get when we are root; never a
//     downloaded browser), or a message saying how to install it;
//  3. the Next.js production build the e2e tests run (rebuilt only when sources changed);
//  4. the static checks: `npm run typecheck` (tsc) and `npm run lint` (ESLint + Prettier);
//  5. vitest: unit + integration files in parallel, then e2e files one at a time (each starts
//     the whole system; two at once would fight over 2 cores).
// Integration tests use an isolated in-memory PGlite per file, or, when TEST_DATABASE_URL is set,
// a fresh database per file on that PostgreSQL server.
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";
import { ensurePrismaClient } from "./prisma.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);
const t0 = Date.now();
const say = (m) => console.log(`[test] ${m}`);

ensurePrismaClient();

const chromiumPaths = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].filter(
  Boolean,
);
if (!chromiumPaths.some((p) => fs.existsSync(p))) {
  const root_ = process.getuid?.() === 0;
  const hasApt = fs.existsSync("/usr/bin/apt-get");
  if (root_ && hasApt) {
    say("installing Debian's chromium for the browser tests (apt-get)…");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    const r = spawnSync("apt-get", ["install", "-y", "-qq", "chromium"], { stdio: "inherit", env });
    if (r.status !== 0) {
      console.error(
        "Installing chromium failed. Install it yourself (`sudo apt-get install -y chromium`) or set CHROMIUM_PATH, then run `npm test` again.",
      );
      process.exit(1);
    }
  } else {
    console.error(
      "The browser tests need Chromium and none was found.\n" +
        "Install Debian's package (`sudo apt-get install -y chromium`), or set CHROMIUM_PATH to a Chromium binary, then run `npm test` again.\n" +
        "(Do not use Playwright's own browser installer: it downloads a browser, which fails offline.)",
    );
    process.exit(1);
  }
}

// Static checks first: a type or lint error fails the run, but the tests still run, so one CI
// pass reports everything.
const npmScript = (name) => {
  say(`npm run ${name}`);
  const r = spawnSync("npm", ["run", "--silent", name], {
    stdio: "inherit",
    shell: process.platform === "win32",
  });
  if (r.status !== 0)
    console.error(`[test] npm run ${name} failed: fix the errors above (npm run format fixes formatting).`);
  return r.status ?? 1;
};
const staticStatus = [npmScript("typecheck"), npmScript("lint")].find((s) => s !== 0) ?? 0;

register();
const { ensureWebBuild } = await import("../server/build.ts");
try {
  await ensureWebBuild({ log: say });
} catch (e) {
  console.error(e.message);
  process.exit(1);
}

const vitest = path.join(root, "node_modules/vitest/vitest.mjs");
const extra = process.argv.slice(2);
const env = { ...process.env };
delete env.DATABASE_URL; // tests make their own databases
const run = (args) =>
  spawnSync(process.execPath, [vitest, "run", ...args, ...extra], { stdio: "inherit", env }).status ?? 1;

say(
  `database for integration tests: ${process.env.TEST_DATABASE_URL ? "PostgreSQL at TEST_DATABASE_URL" : "embedded PGlite (one per test file)"}`,
);
let status = run(["tests/unit", "tests/integration"]);
if (status === 0 || process.env.CI) {
  const e2e = run(["tests/e2e", "--no-file-parallelism"]);
  status = status || e2e;
}
status = status || staticStatus;
say(`finished in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
process.exit(status);
