// pairwise start
import { UsageError, type Command } from "../command";

export const startCommand: Command = {
  name: "start",
  summary: "Start Pairwise: database (embedded unless DATABASE_URL), web app, worker, trainer",
  help: `Usage: pairwise start

Builds what is stale, starts the embedded database (unless DATABASE_URL is set), applies
migrations, seeds the demo on first start, and runs the web app, the worker and the trainer.
Ctrl-C stops everything cleanly. Configuration: environment variables (see README.md).`,
  async run({ positionals }) {
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const { startSystem } = await import("@/server/processes/supervisor");
    return startSystem();
  },
};
