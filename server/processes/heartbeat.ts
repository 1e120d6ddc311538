// Each process (web, worker, trainer, serve) writes a heartbeat row every few seconds; the admin
// health page shows which are alive. A row older than STALE_MS means the process is gone.
import os from "node:os";
import { db } from "../db/client";

export const HEARTBEAT_MS = 5_000;
export const STALE_MS = 20_000;

export function startHeartbeat(
  kind: string,
  info: () => Record<string, unknown> = () => ({}),
): () => Promise<void> {
  const id = `${kind}:${os.hostname()}:${process.pid}`;
  const beat = async () => {
    const data = {
      kind,
      host: os.hostname(),
      pid: process.pid,
      info: info() as object,
      lastSeenAt: new Date(),
    };
    await db()
      .serviceHeartbeat.upsert({ where: { id }, create: { id, ...data }, update: data })
      .catch((e: Error) => {
        console.error(`[${kind}] heartbeat failed: ${e.message}`);
      });
  };
  void beat();
  const timer = setInterval(beat, HEARTBEAT_MS);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await db()
      .serviceHeartbeat.delete({ where: { id } })
      .catch(() => {});
  };
}

export async function listServices() {
  const rows = await db().serviceHeartbeat.findMany({ orderBy: [{ kind: "asc" }, { lastSeenAt: "desc" }] });
  const now = Date.now();
  return rows.map((r) => ({ ...r, alive: now - r.lastSeenAt.getTime() < STALE_MS }));
}
