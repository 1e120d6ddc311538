// Prisma CLI wrapper. Prisma 6.19's CLI looks for binary engines it will not use here (the
// client is the Rust-free one, migrations go through our runner / the WASM engine), and it
// would try to download them: pointing these variables at any existing file stops that.
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export function prismaEnv() {
  const placeholder = path.join(root, "package.json");
  return {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? placeholder,
    PRISMA_QUERY_ENGINE_LIBRARY: process.env.PRISMA_QUERY_ENGINE_LIBRARY ?? placeholder,
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
    CHECKPOINT_DISABLE: "1",
  };
}

export function runPrisma(args, opts = {}) {
  const r = spawnSync(process.execPath, [path.join(root, "node_modules/prisma/build/index.js"), ...args], {
    cwd: root,
    env: prismaEnv(),
    stdio: opts.quiet ? "pipe" : "inherit",
  });
  if (r.status !== 0) {
    if (opts.quiet) process.stderr.write(r.stdout?.toString() + r.stderr?.toString());
    throw new Error(`prisma ${args.join(" ")} failed (exit ${r.status})`);
  }
}

/** Generate the client when it is missing or older than prisma/schema.prisma. */
export function ensurePrismaClient() {
  const schema = fs.readFileSync(path.join(root, "prisma/schema.prisma"), "utf8");
  let generated = "";
  try {
    generated = fs.readFileSync(path.join(root, "node_modules/.prisma/client/schema.prisma"), "utf8");
  } catch {
    // not generated yet
  }
  if (generated !== schema) runPrisma(["generate"], { quiet: true });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  if (args[0] === "generate" && args.length === 1) ensurePrismaClient();
  else runPrisma(args);
}
