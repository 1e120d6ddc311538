// pairwise trainer: the trainer process alone (a GPU box pointed at the shared database).
import path from "node:path";
import { spawn } from "node:child_process";
import { childEnv, env } from "@/server/env";
import { checkDatabase, runningEmbeddedUrl } from "@/server/db/connect";
import { println, UsageError, type Command } from "../command";

const ROOT = path.resolve(import.meta.dirname, "../../..");

export const trainerCommand: Command = {
  name: "trainer",
  summary: "Run the trainer service alone, against a shared database (e.g. on a GPU box)",
  help: `Usage: DATABASE_URL=postgresql://... pairwise trainer

Runs only the trainer process: it takes training-round jobs, trains on the best TensorFlow.js
backend here (PAIRWISE_TF_BACKEND forces one) and writes checkpoints to PAIRWISE_CHECKPOINT_DIR,
which must be the same store the other machines read (a shared folder). Several trainers may run
at once: each round is worked on by one of them, and a round whose trainer died is resumed by
another. Without DATABASE_URL it joins the embedded database of an \`npm start\` on this machine.
Ctrl-C stops it; the round in progress stops at its next step and resumes later.`,
  async run({ positionals }, io) {
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const e = env();
    const url = e.DATABASE_URL ?? runningEmbeddedUrl(e.dataDir);
    if (!url) {
      throw new UsageError(
        "no database: set DATABASE_URL to the shared PostgreSQL (or start `npm start` on this machine, whose embedded database the trainer then joins)",
      );
    }
    await checkDatabase(url);
    println(
      io.stderr,
      `trainer: database ${url.replace(/:\/\/([^:@/]+):[^@/]*@/, "://$1:***@")}, checkpoints in ${e.checkpointDir}`,
    );
    const child = spawn(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "server/processes/trainer.ts")],
      {
        cwd: ROOT,
        stdio: "inherit",
        env: childEnv({ DATABASE_URL: url }),
      },
    );
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    return new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? 1)));
  },
};
