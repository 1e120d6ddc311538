// Dataset snapshots: a frozen, hashed set of a project's active preference pairs, split into
// train and validation BY PROMPT, so no prompt is on both sides. Training rounds call
// createSnapshot and then read the snapshot's pairs with loadSnapshotPairs (or stream them with
// exportRows({ snapshotId })).
//
// Frozen: SnapshotPair rows point at PreferencePair rows, which are never edited or deleted
// (re-aggregation retires them and adds new ones), so a snapshot reads the same forever.
// Split: a prompt marked validation/test on its row keeps that split; any other prompt goes to
// validation when md5(seed + prompt content hash), read as a 28-bit fraction, is below
// `validationFraction` (the same prompt lands on the same side in every snapshot of that seed).
// Hash: sha256 over the pairs' content lines "promptHash\tchosenHash\trejectedHash\tmargin\tweight\tsplit",
// sorted bytewise (COLLATE "C") and joined by "\n": the same pairs give the same hash on any
// database, whatever their row ids.
// No "server-only" import: the worker, the trainer and the CLI (plain Node processes) call this too.
import crypto from "node:crypto";
import { Prisma, type PrismaClient, type Split } from "@prisma/client";
import { z } from "zod";
import { DomainError } from "@/server/errors";
import { newId } from "./ids";

export const PairOrigin = z.enum(["human", "ai", "mixed", "import"]);

export const SnapshotFilter = z.object({
  /** Pairs created at or after / before this time. */
  from: z.coerce.date().optional(),
  to: z.coerce.date().optional(),
  minAgreement: z.number().min(0).max(1).optional(),
  /** Keep only pairs of these origins (["human"] = human-only, ["ai"] = AI-only). */
  origins: z.array(PairOrigin).min(1).optional(),
  /** Share of prompts held out for validation. */
  validationFraction: z.number().min(0).max(1).default(0.1),
  seed: z.string().max(200).default(""),
});
export type SnapshotFilter = z.input<typeof SnapshotFilter>;

export type { SnapshotStatus } from "@prisma/client";
import type { SnapshotStatus } from "@prisma/client";

export interface SnapshotSummary {
  id: string;
  projectId: string;
  /** building: a job is choosing and hashing the pairs (hash empty, counts so far); ready; failed. */
  status: SnapshotStatus;
  /** Pairs hashed so far (while building), of pairCount. */
  pairsDone: number;
  error: string | null;
  hash: string;
  pairCount: number;
  trainCount: number;
  validationCount: number;
  testCount: number;
  filter: z.output<typeof SnapshotFilter>;
  createdAt: Date;
}

/** The split rule, in JS, for tests and tools: same answer as the SQL in createSnapshot. */
export function promptSplit(
  promptContentHash: string,
  seed: string,
  validationFraction: number,
): "train" | "validation" {
  const h = crypto
    .createHash("md5")
    .update(seed + promptContentHash)
    .digest("hex");
  return parseInt(h.slice(0, 7), 16) / 2 ** 28 < validationFraction ? "validation" : "train";
}

export function pairFilterSql(
  alias: string,
  f: { from?: Date; to?: Date; minAgreement?: number; origins?: string[] },
): Prisma.Sql {
  const a = Prisma.raw(alias);
  const parts: Prisma.Sql[] = [];
  if (f.from) parts.push(Prisma.sql`${a}."createdAt" >= ${f.from}`);
  if (f.to) parts.push(Prisma.sql`${a}."createdAt" < ${f.to}`);
  if (f.minAgreement !== undefined) parts.push(Prisma.sql`${a}."agreement" >= ${f.minAgreement}`);
  if (f.origins?.length) parts.push(Prisma.sql`${a}."origin" = ANY(${f.origins})`);
  return parts.length ? Prisma.sql` AND ${Prisma.join(parts, " AND ")}` : Prisma.empty;
}

function parseFilter(filter: SnapshotFilter): z.output<typeof SnapshotFilter> {
  const parsed = SnapshotFilter.safeParse(filter);
  if (!parsed.success)
    throw new DomainError(
      "bad_request",
      `Invalid snapshot filter: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  return parsed.data;
}

/** The snapshot's row, status "building", committed so its progress can be followed. */
async function snapshotRow(db: PrismaClient, projectId: string, f: z.output<typeof SnapshotFilter>) {
  const project = await db.project.findUnique({ where: { id: projectId }, select: { id: true } });
  if (!project) throw new DomainError("not_found", `No project ${projectId}.`);
  const id = newId();
  await db.datasetSnapshot.create({
    data: {
      id,
      projectId,
      hash: "",
      pairCount: 0,
      status: "building",
      filter: JSON.parse(JSON.stringify(f)) as Prisma.InputJsonValue,
    },
  });
  return id;
}

/**
 * Makes a snapshot and waits for it (training rounds, the CLI). The row is visible from the
 * start with status "building" and its progress; it ends "ready", or "failed" with the error.
 */
export async function createSnapshot(
  db: PrismaClient,
  projectId: string,
  filter: SnapshotFilter = {},
  opts: { onProgress?: (done: number, total: number) => void } = {},
): Promise<SnapshotSummary> {
  const f = parseFilter(filter);
  const id = await snapshotRow(db, projectId, f);
  return buildSnapshot(db, id, projectId, f, opts.onProgress);
}

/**
 * Starts a snapshot as a job of this process and answers once it is ready or after `waitMs`,
 * whichever comes first (the REST API: a small project answers with the finished snapshot, a big
 * one at once with status "building"; GET /snapshots/{id} follows it). Progress is written to the
 * row as the pairs are hashed.
 */
export async function startSnapshot(
  db: PrismaClient,
  projectId: string,
  filter: SnapshotFilter = {},
  opts: { waitMs?: number } = {},
): Promise<SnapshotSummary> {
  const f = parseFilter(filter);
  const id = await snapshotRow(db, projectId, f);
  let last = 0;
  // Fire and forget: never awaited inside the build's transaction (an embedded database runs one
  // transaction at a time, so the update lands when the build commits; PostgreSQL applies it now).
  const progress = (done: number, total: number) => {
    if (done !== 0 && done - last < 20_000) return;
    last = done;
    void db.datasetSnapshot
      .updateMany({ where: { id, status: "building" }, data: { pairsDone: done, pairCount: total } })
      .catch(() => undefined);
  };
  const job = buildSnapshot(db, id, projectId, f, progress);
  job.catch(() => undefined); // recorded on the row
  const waited = await Promise.race([
    job.then(
      () => true,
      () => true,
    ),
    new Promise<false>((r) => setTimeout(() => r(false), opts.waitMs ?? 5_000).unref?.()),
  ]);
  if (waited) {
    const s = await job.catch((e: unknown) => e);
    if (s instanceof Error) throw s;
  }
  return getSnapshot(db, id);
}

async function buildSnapshot(
  db: PrismaClient,
  id: string,
  projectId: string,
  f: z.output<typeof SnapshotFilter>,
  onProgress?: (done: number, total: number) => void,
): Promise<SnapshotSummary> {
  try {
    return await db.$transaction(
      async (tx) => {
        const total = await tx.$executeRaw`
        INSERT INTO "SnapshotPair" ("snapshotId", "pairId", split)
        SELECT ${id}, pp.id,
          CASE WHEN pr.split <> 'train' THEN pr.split
               WHEN ('x' || substr(md5(${f.seed} || pr."contentHash"), 1, 7))::bit(28)::int / 268435456.0 < ${f.validationFraction} THEN 'validation'::"Split"
               ELSE 'train'::"Split" END
        FROM "PreferencePair" pp JOIN "Prompt" pr ON pr.id = pp."promptId"
        WHERE pp."projectId" = ${projectId} AND pp.active ${pairFilterSql("pp", f)}`;
        onProgress?.(0, total);
        // Stream the sorted content lines through sha256 with a cursor: memory stays flat at any size.
        await tx.$executeRaw`
        DECLARE snapshot_lines NO SCROLL CURSOR FOR
        SELECT line, split FROM (
          SELECT pr."contentHash" || E'\t' || ch."contentHash" || E'\t' || rj."contentHash" || E'\t' || pp.margin::text || E'\t' || pp.weight::text || E'\t' || sp.split::text AS line,
                 sp.split::text AS split
          FROM "SnapshotPair" sp
          JOIN "PreferencePair" pp ON pp.id = sp."pairId"
          JOIN "Prompt" pr ON pr.id = pp."promptId"
          JOIN "Completion" ch ON ch.id = pp."chosenId"
          JOIN "Completion" rj ON rj.id = pp."rejectedId"
          WHERE sp."snapshotId" = ${id}) lines
        ORDER BY line COLLATE "C"`;
        const hash = crypto.createHash("sha256");
        const counts: Record<Split, number> = { train: 0, validation: 0, test: 0 };
        let n = 0;
        for (;;) {
          const rows = await tx.$queryRawUnsafe<Array<{ line: string; split: Split }>>(
            "FETCH 5000 FROM snapshot_lines",
          );
          for (const r of rows) {
            hash.update(n++ === 0 ? r.line : `\n${r.line}`);
            counts[r.split]++;
          }
          onProgress?.(n, total);
          if (rows.length < 5000) break;
        }
        await tx.$executeRawUnsafe("CLOSE snapshot_lines");
        const digest = hash.digest("hex");
        const snap = await tx.datasetSnapshot.update({
          where: { id },
          data: { hash: digest, pairCount: n, pairsDone: n, status: "ready", finishedAt: new Date() },
        });
        return {
          id,
          projectId,
          status: "ready" as const,
          pairsDone: n,
          error: null,
          hash: digest,
          pairCount: n,
          trainCount: counts.train,
          validationCount: counts.validation,
          testCount: counts.test,
          filter: f,
          createdAt: snap.createdAt,
        };
      },
      { timeout: 600_000, maxWait: 30_000 },
    );
  } catch (e) {
    await db.datasetSnapshot
      .updateMany({
        where: { id },
        data: { status: "failed", error: e instanceof Error ? e.message : String(e), finishedAt: new Date() },
      })
      .catch(() => undefined);
    throw e;
  }
}

export async function getSnapshot(db: PrismaClient, snapshotId: string): Promise<SnapshotSummary> {
  const s = await db.datasetSnapshot.findUnique({ where: { id: snapshotId } });
  if (!s) throw new DomainError("not_found", `No snapshot ${snapshotId}.`);
  const rows = await db.$queryRaw<
    Array<{ split: Split; n: number }>
  >`SELECT split, count(*)::int AS n FROM "SnapshotPair" WHERE "snapshotId" = ${snapshotId} GROUP BY split`;
  const c = Object.fromEntries(rows.map((r) => [r.split, r.n])) as Partial<Record<Split, number>>;
  return {
    id: s.id,
    projectId: s.projectId,
    status: s.status,
    pairsDone: s.pairsDone,
    error: s.error,
    hash: s.hash,
    pairCount: s.pairCount,
    trainCount: c.train ?? 0,
    validationCount: c.validation ?? 0,
    testCount: c.test ?? 0,
    filter: SnapshotFilter.parse(s.filter),
    createdAt: s.createdAt,
  };
}

export interface TrainingPair {
  pairId: string;
  split: Split;
  /** Plain-text prompt, or null when the prompt is a conversation. */
  prompt: string | null;
  messages: Array<{ role: string; content: string }> | null;
  chosen: string;
  rejected: string;
  margin: number;
  weight: number;
}

/** A snapshot's pairs in a stable order (by prompt hash, then pair content), optionally one split. */
export async function loadSnapshotPairs(
  db: PrismaClient,
  snapshotId: string,
  split?: Split,
): Promise<TrainingPair[]> {
  const rows = await db.$queryRaw<
    Array<{
      pairId: string;
      split: Split;
      text: string | null;
      messages: unknown;
      chosen: string;
      rejected: string;
      margin: number;
      weight: number;
    }>
  >`
    SELECT pp.id AS "pairId", sp.split, pr.text, pr.messages, ch.text AS chosen, rj.text AS rejected, pp.margin, pp.weight
    FROM "SnapshotPair" sp
    JOIN "PreferencePair" pp ON pp.id = sp."pairId"
    JOIN "Prompt" pr ON pr.id = pp."promptId"
    JOIN "Completion" ch ON ch.id = pp."chosenId"
    JOIN "Completion" rj ON rj.id = pp."rejectedId"
    WHERE sp."snapshotId" = ${snapshotId} ${split ? Prisma.sql`AND sp.split = ${split}::"Split"` : Prisma.empty}
    ORDER BY pr."contentHash" COLLATE "C", ch."contentHash" COLLATE "C", rj."contentHash" COLLATE "C", pp.id`;
  return rows.map((r) => ({
    pairId: r.pairId,
    split: r.split,
    prompt: r.text,
    messages: (r.messages as TrainingPair["messages"]) ?? null,
    chosen: r.chosen,
    rejected: r.rejected,
    margin: r.margin,
    weight: r.weight,
  }));
}
