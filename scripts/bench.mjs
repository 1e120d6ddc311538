// `npm run bench -- <name> [args]` runs bench/<name>/run.ts; with no name, lists the benchmarks.
// Each writes JSON and a markdown table into bench/results/.
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ensurePrismaClient } from "./prisma.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const names = fs
  .readdirSync(path.join(root, "bench"), { withFileTypes: true })
  .filter((d) => d.isDirectory() && fs.existsSync(path.join(root, "bench", d.name, "run.ts")))
  .map((d) => d.name);
const [name, ...args] = process.argv.slice(2);
if (!name || !names.includes(name)) {
  console.error(
    `usage: npm run bench -- <${names.join("|")}> [options]${name ? `\nno benchmark named "${name}"` : ""}`,
  );
  process.exit(name ? 1 : 0);
}
ensurePrismaClient();
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true });
const r = spawnSync(
  process.execPath,
  ["--import", "tsx", "--expose-gc", path.join(root, "bench", name, "run.ts"), ...args],
  { stdio: "inherit", cwd: root },
);
process.exit(r.status ?? 1);
