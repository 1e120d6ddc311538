// pg-boss: the job queue every process shares through PostgreSQL (embedded or external).
import PgBoss from "pg-boss";
import { databaseUrl } from "../env";

let boss: PgBoss | undefined;
let starting: Promise<PgBoss> | undefined;

export interface BossOptions {
  connectionString?: string;
  /** Only the worker runs maintenance and cron; other processes just send and work. */
  supervise?: boolean;
  schedule?: boolean;
}

/** The process's started pg-boss instance. */
export function getBoss(opts: BossOptions = {}): Promise<PgBoss> {
  if (boss) return Promise.resolve(boss);
  starting ??= (async () => {
    const connectionString = opts.connectionString ?? databaseUrl();
    const b = new PgBoss({
      connectionString,
      schema: "pgboss",
      max: 4,
      supervise: opts.supervise ?? false,
      schedule: opts.schedule ?? false,
      migrate: true,
    });
    b.on("error", (e: Error) => console.error(`[pg-boss] ${e.message}`));
    await b.start();
    boss = b;
    return b;
  })();
  try {
    return starting;
  } finally {
    starting.catch(() => (starting = undefined));
  }
}

/** Create a queue once (createQueue is idempotent in effect; we swallow "already exists"). */
export async function ensureQueue(
  b: PgBoss,
  name: string,
  options: Omit<PgBoss.Queue, "name"> = {},
): Promise<void> {
  const existing = await b.getQueue(name);
  if (!existing)
    await b.createQueue(name, { name, ...options } as PgBoss.Queue).catch((e: Error) => {
      if (!/already exists|duplicate/i.test(e.message)) throw e;
    });
}

export async function stopBoss(): Promise<void> {
  if (!boss) return;
  const b = boss;
  boss = undefined;
  starting = undefined;
  await b.stop({ graceful: true, wait: true, timeout: 20_000 });
}
