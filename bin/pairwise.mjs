#!/usr/bin/env node
// The `pairwise` command. Makes sure the Prisma client is generated for the current schema,
// then runs the TypeScript CLI (server/cli) through tsx.
import { ensurePrismaClient } from "../scripts/prisma.mjs";
import { register } from "tsx/esm/api";

ensurePrismaClient();
register();
const args = process.argv.slice(2);
let code;
try {
  const cli = await import("../server/cli/index.ts");
  code = await cli.main(args);
} catch (e) {
  if (e?.code === "ERR_MODULE_NOT_FOUND" && String(e.message).includes("server/cli/index")) {
    // The CLI is still being built; `start` works without it.
    const { startSystem } = await import("../server/processes/supervisor.ts");
    code = args[0] === "start" || args.length === 0 ? await startSystem() : 1;
  } else throw e;
}
process.exit(code ?? 0);
