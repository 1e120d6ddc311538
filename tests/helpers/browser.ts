// Debian's Chromium driven by playwright-core. Never downloads a browser: scripts/test.mjs
// installs the `chromium` package when it can (root + apt-get) before the tests run.
import fs from "node:fs";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";

const CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/lib/chromium/chromium",
  "/snap/bin/chromium",
];

export function findChromium(): string | null {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv && fs.existsSync(fromEnv)) return fromEnv;
  return CANDIDATES.find((p) => fs.existsSync(p)) ?? null;
}

export const CHROMIUM_HELP =
  "Chromium was not found. Install Debian's package (`sudo apt-get install -y chromium`), or set CHROMIUM_PATH to a Chromium binary. Do not use Playwright's own browser installer: it downloads a browser, which fails offline.";

export async function launchBrowser(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error(CHROMIUM_HELP);
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-dev-shm-usage",
    ],
  });
}

export const ARTIFACTS_DIR = path.resolve(import.meta.dirname, "../artifacts");
export function artifactPath(name: string): string {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return path.join(ARTIFACTS_DIR, name);
}
