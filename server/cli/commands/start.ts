// pairwise start
import { UsageError, type Command } from "../command";

export const startCommand: Command = {
  name: "start",
  summary: "Start Pairwise: database (embedded unless DATABASE_URL), web app, worker, trainer",
  help: `Usage: pairwise start [--demo]

Builds what is stale, starts the embedded database (unless DATABASE_URL is set), applies
migrations, and runs the web app, the worker and the trainer. Ctrl-C stops everything cleanly.
Configuration: environment variables (see README.md).

On an empty database the demo projects and accounts (with public passwords) are seeded in
development mode only; in production (PAIRWISE_MODE=production) only with --demo. Without them,
create the first admin with:
  echo "$PASSWORD" | pairwise users create --email you@example.com --role admin --password-stdin`,
  options: { demo: { type: "boolean" } },
  async run({ positionals, values }) {
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const { startSystem } = await import("@/server/processes/supervisor");
    return startSystem({ demo: values.demo === true });
  },
};
