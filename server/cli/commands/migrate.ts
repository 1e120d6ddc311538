// pairwise migrate
import { env } from "@/server/env";
import { withDatabase } from "@/server/db/connect";
import { migrate } from "@/server/db/migrate";
import { println, UsageError, type Command } from "../command";

export const migrateCommand: Command = {
  name: "migrate",
  summary: "Apply pending database migrations (DATABASE_URL, or the embedded database)",
  help: `Usage: pairwise migrate

Applies prisma/migrations to DATABASE_URL's database, or to the embedded database in the data
folder when DATABASE_URL is unset. Safe to run while other processes start: they wait their turn.
\`pairwise start\` migrates by itself; this is for deployments that migrate as a separate step.`,
  async run({ positionals }, io) {
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const where = env().DATABASE_URL ? "DATABASE_URL" : `the embedded database in ${env().dataDir}`;
    const result = await withDatabase((url) => migrate(url, { log: (m) => println(io.stderr, m) }), {
      migrate: false,
    });
    println(
      io.stdout,
      result.applied.length
        ? `applied ${result.applied.length} migration(s) to ${where}: ${result.applied.join(", ")}`
        : `${where} is up to date (${result.alreadyApplied} migrations applied before)`,
    );
    return 0;
  },
};
