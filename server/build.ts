// "Builds what is not built yet": the Next.js production build is redone when its inputs changed
// (by content, so a fresh clone with new file times but the same sources does not rebuild).
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { spawn } from "node:child_process";
import { childEnv } from "./env";

export const ROOT = path.resolve(import.meta.dirname, "..");
const INPUTS = [
  "app",
  "components",
  "server",
  "trainer",
  "prisma/schema.prisma",
  "next.config.ts",
  "proxy.ts",
  "postcss.config.mjs",
  "tsconfig.json",
  "package-lock.json",
];
const STAMP = path.join(ROOT, ".next", "pairwise-build.json");

function walk(p: string, out: string[]): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    return;
  }
  if (st.isDirectory()) {
    for (const name of fs.readdirSync(p).sort())
      if (!name.startsWith(".") && name !== "node_modules") walk(path.join(p, name), out);
  } else
    out.push(
      `${path.relative(ROOT, p)}:${crypto.createHash("sha1").update(fs.readFileSync(p)).digest("hex")}`,
    );
}

export function sourceFingerprint(): string {
  const entries: string[] = [];
  for (const i of INPUTS) walk(path.join(ROOT, i), entries);
  return crypto.createHash("sha256").update(entries.join("\n")).digest("hex");
}

export function webBuildIsCurrent(): boolean {
  try {
    const stamp = JSON.parse(fs.readFileSync(STAMP, "utf8")) as { fingerprint: string };
    return fs.existsSync(path.join(ROOT, ".next", "BUILD_ID")) && stamp.fingerprint === sourceFingerprint();
  } catch {
    return false;
  }
}

/** Run `next build` if the sources changed since the last build. Returns whether it built. */
export async function ensureWebBuild(
  opts: { force?: boolean; log?: (m: string) => void } = {},
): Promise<boolean> {
  if (!opts.force && webBuildIsCurrent()) return false;
  opts.log?.("building the web app (next build); this takes a minute or two the first time…");
  const t0 = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, "node_modules/next/dist/bin/next"), "build"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: childEnv({ NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" }),
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`next build failed (exit ${code}):\n${output.slice(-6000)}`)),
    );
  });
  // After the build: `next build` may normalise tsconfig.json, one of its own inputs.
  const fingerprint = sourceFingerprint();
  fs.writeFileSync(STAMP, JSON.stringify({ fingerprint, builtAt: new Date().toISOString() }));
  opts.log?.(`web app built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return true;
}
