// The admin UI's import and export: the same functions as the CLI and the REST API
// (server/data), with an ImportJob row created before the upload starts so the page can show
// its progress while the file streams in.
import "server-only";
import type { Db } from "@/server/db/client";
import { getProjectOrThrow } from "@/server/projects/projects";
import { readCounters } from "./rollups";
import { getImportJob, importStream, listImportJobs } from "@/server/data/import";
import { exportStream, ExportFormat } from "@/server/data/export";
import { DomainError } from "@/server/errors";

export async function queueImport(
  db: Db,
  input: { project: string; fileName: string; bytesTotal?: number; userId: string },
) {
  const p = await getProjectOrThrow(db, input.project);
  const job = await db.importJob.create({
    data: {
      projectId: p.id,
      kind: "import",
      fileName: input.fileName.slice(0, 300),
      format: "jsonl",
      status: "queued",
      bytesTotal: input.bytesTotal ?? null,
      createdById: input.userId,
    },
    select: { id: true },
  });
  return { jobId: job.id };
}

/** Streams a request body into the queued job (the upload's own request). */
export async function runQueuedImport(
  db: Db,
  input: { jobId: string; body: ReadableStream<Uint8Array>; userId: string; signal?: AbortSignal },
) {
  const job = await db.importJob.findUnique({
    where: { id: input.jobId },
    select: { projectId: true, status: true, fileName: true, bytesTotal: true, createdById: true },
  });
  if (!job || job.createdById !== input.userId)
    throw new DomainError("not_found", `No import job ${input.jobId}.`);
  if (job.status !== "queued")
    throw new DomainError("conflict", `Import job ${input.jobId} is already ${job.status}.`);
  return importStream(input.body, {
    jobId: input.jobId,
    project: job.projectId ?? undefined,
    fileName: job.fileName ?? undefined,
    bytesTotal: job.bytesTotal === null ? undefined : Number(job.bytesTotal),
    createdById: input.userId,
    signal: input.signal,
  });
}

export { getImportJob, listImportJobs };

/** How many rows an export will have, for its progress bar. */
export async function exportEstimate(db: Db, input: { project: string; format: ExportFormat }) {
  const p = await getProjectOrThrow(db, input.project);
  // From the trigger-kept counters (migration 20261204173000): 'jt' every judgment, 'pp' active pairs.
  const counters = await readCounters(db, p.id, [input.format === "votes" ? "jt" : "pp"]);
  if (input.format === "votes") return { rows: counters.get("jt") ?? 0 };
  const pairs = counters.get("pp") ?? 0;
  return { rows: input.format === "kto" ? pairs * 2 : pairs };
}

export async function exportResponse(input: { project: string; format: ExportFormat }) {
  const stream = await exportStream({ project: input.project, format: input.format });
  const name = `${input.project}-${input.format}.jsonl`.replace(/[^\w.-]/g, "_");
  return new Response(stream, {
    headers: {
      "content-type": "application/x-ndjson; charset=utf-8",
      "content-disposition": `attachment; filename="${name}"`,
      "cache-control": "no-store",
    },
  });
}
