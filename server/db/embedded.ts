// The embedded database: PGlite on disk in the data folder, served on localhost over the
// PostgreSQL wire protocol, so every process connects the same way as to a real server.
import fs from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PgliteServer } from "./pglite-server";

export class DataDirLockedError extends Error {
  constructor(dir: string, pid: number) {
    super(
      `The data folder ${dir} is in use by another Pairwise process (pid ${pid}).\n` +
        "Stop that process first (Ctrl-C in its terminal, or `kill " +
        pid +
        "`), or set PAIRWISE_DATA_DIR to another folder.",
    );
    this.name = "DataDirLockedError";
  }
}

export class PortInUseError extends Error {
  constructor(what: string, port: number, variable: string) {
    super(
      `Port ${port} (${what}) is already in use by another program.\nStop that program, or choose another port with ${variable}=<port>.`,
    );
    this.name = "PortInUseError";
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

const heldHere = new Set<string>();

/** Take the data folder's lock file, or explain who holds it. A stale lock (dead pid) is taken over. */
export function lockDataDir(dir: string): () => void {
  fs.mkdirSync(dir, { recursive: true });
  const lockFile = path.join(dir, "pairwise.lock");
  if (heldHere.has(lockFile)) throw new DataDirLockedError(dir, process.pid);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: "wx" });
      heldHere.add(lockFile);
      return () => {
        heldHere.delete(lockFile);
        try {
          if (fs.readFileSync(lockFile, "utf8") === String(process.pid)) fs.unlinkSync(lockFile);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number(fs.readFileSync(lockFile, "utf8"));
      if (pid && pidAlive(pid) && pid !== process.pid) throw new DataDirLockedError(dir, pid);
      fs.unlinkSync(lockFile); // stale: its process died (e.g. kill -9)
    }
  }
  throw new Error(`could not lock ${lockFile}`);
}

export interface EmbeddedDatabase {
  url: string;
  db: PGlite;
  server: PgliteServer;
  stop(): Promise<void>;
}

/** Start PGlite in `dataDir/pg` (or in memory when dataDir is null) and serve it on host:port. */
export async function startEmbeddedDatabase(opts: {
  dataDir: string | null;
  port: number;
  host?: string;
  log?: (m: string) => void;
}): Promise<EmbeddedDatabase> {
  const release = opts.dataDir ? lockDataDir(opts.dataDir) : () => {};
  let db: PGlite | undefined;
  try {
    const pgDir = opts.dataDir ? path.join(opts.dataDir, "pg") : undefined;
    db = new PGlite(pgDir ? { dataDir: pgDir } : {});
    await db.waitReady;
    const server = new PgliteServer({ db, host: opts.host ?? "127.0.0.1", port: opts.port, log: opts.log });
    try {
      await server.start();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EADDRINUSE")
        throw new PortInUseError("embedded database", opts.port, "PAIRWISE_DB_PORT");
      throw e;
    }
    const url = `postgresql://postgres:postgres@${opts.host ?? "127.0.0.1"}:${server.port}/postgres`;
    let stopped = false;
    return {
      url,
      db,
      server,
      async stop() {
        if (stopped) return;
        stopped = true;
        await server.stop();
        await db!.close(); // flushes and shuts Postgres down cleanly
        release();
      },
    };
  } catch (e) {
    await db?.close().catch(() => {});
    release();
    throw e;
  }
}
