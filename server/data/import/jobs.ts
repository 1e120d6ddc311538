// Import (and export) jobs as the admin UI and the API show them.
import fs from "node:fs";
import path from "node:path";
import type { PrismaClient, ImportJob } from "@prisma/client";
import { DomainError } from "@/server/errors";
import {
  importStream,
  type ImportJobView,
  type ImportOptions,
  type ImportReport,
  type ImportResult,
} from "./importer";

export function importJobView(j: ImportJob): ImportJobView {
  const total = j.bytesTotal === null ? null : Number(j.bytesTotal);
  const done = Number(j.bytesDone);
  return {
    id: j.id,
    projectId: j.projectId,
    kind: j.kind,
    fileName: j.fileName,
    status: j.status,
    bytesTotal: total,
    bytesDone: done,
    rowsDone: j.rowsDone,
    fraction: total ? Math.min(1, done / total) : j.status === "succeeded" ? 1 : null,
    report: (j.report ?? {}) as Partial<ImportReport>,
    error: j.error,
    createdById: j.createdById,
    createdAt: j.createdAt,
    finishedAt: j.finishedAt,
  };
}

/** One import job with its progress and report; not_found when there is none. */
export async function getImportJob(db: PrismaClient, id: string): Promise<ImportJobView> {
  const j = await db.importJob.findUnique({ where: { id } });
  if (!j) throw new DomainError("not_found", `No import job ${id}.`);
  return importJobView(j);
}

export async function listImportJobs(
  db: PrismaClient,
  opts: { projectId?: string; limit?: number } = {},
): Promise<ImportJobView[]> {
  const rows = await db.importJob.findMany({
    where: opts.projectId ? { projectId: opts.projectId } : {},
    orderBy: { createdAt: "desc" },
    take: Math.min(opts.limit ?? 50, 500),
  });
  return rows.map(importJobView);
}

/** Import a file from disk (JSON Lines, a JSON array, or either gzip-compressed). */
export async function importFile(
  file: string,
  opts: Omit<ImportOptions, "fileName" | "bytesTotal"> = {},
): Promise<ImportResult> {
  let size: number;
  try {
    const st = fs.statSync(file);
    if (st.isDirectory())
      throw new DomainError("bad_request", `${file} is a folder; give the path of a .jsonl or .json file.`);
    size = st.size;
  } catch (e) {
    if (e instanceof DomainError) throw e;
    throw new DomainError(
      "not_found",
      `Cannot read ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}.`,
    );
  }
  return importStream(fs.createReadStream(file, { highWaterMark: 1 << 20 }), {
    ...opts,
    fileName: path.basename(file),
    bytesTotal: size,
  });
}
