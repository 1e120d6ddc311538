"use client";
// Import and export with progress bars. Import: a job is queued first, then the file streams to
// /admin/data/import (the same importer as the CLI and REST API); the bar follows the upload and
// the job's own progress. Export: the JSON Lines stream is read here, counting rows against the
// expected total, then saved as a file.
import { useEffect, useRef, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC, useTRPCClient } from "@/components/trpc";
import { errorMessage } from "@/components/annotate/errors";

type Format = "trl" | "kto" | "hh" | "votes";

type Tone = "busy" | "ok" | "partial" | "failed";
// The bar's colour says how it went (Chrome draws a bare <progress> green, whatever happened).
const TONE: Record<Tone, string> = {
  busy: "accent-blue-600",
  ok: "accent-green-600",
  partial: "accent-amber-500",
  failed: "accent-red-600",
};

function Progress({
  value,
  label,
  testId,
  tone = "busy",
}: {
  value: number | null;
  label: string;
  testId: string;
  tone?: Tone;
}) {
  return (
    <div className="flex flex-col gap-1 text-sm">
      <span>{label}</span>
      <progress
        data-tone={tone}
        className={`h-3 w-full ${TONE[tone]}`}
        max={1}
        value={value ?? undefined}
        aria-label={label}
        data-testid={testId}
      />
    </div>
  );
}

interface Report {
  summary?: string;
  invalid?: number;
  errors?: Array<{ line: number; reason: string }>;
}

/** How an import ended: a job that "succeeded" with rejected rows is a partial import. */
function importTone(status: string, report: Report | null | undefined): Tone {
  if (status === "failed") return "failed";
  if (status !== "succeeded") return "busy";
  return (report?.invalid ?? 0) > 0 || (report?.errors?.length ?? 0) > 0 ? "partial" : "ok";
}

function importStatusText(status: string, report: Report | null | undefined): string {
  const tone = importTone(status, report);
  if (tone !== "partial") return status;
  const bad = report?.invalid ?? report?.errors?.length ?? 0;
  return `partial: ${bad.toLocaleString("en-US")} bad ${bad === 1 ? "row" : "rows"} skipped`;
}

export function DataAdmin({ initialProject }: { initialProject: string }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const qc = useQueryClient();
  const projects = useQuery(trpc.admin.projects.queryOptions());
  const [picked, setProject] = useState(initialProject);
  // The first project until one is picked (derived, not copied into state by an effect).
  const project = picked || projects.data?.[0]?.slug || "";
  const jobs = useQuery({ ...trpc.admin.importJobs.queryOptions({ project }), enabled: !!project });
  const queue = useMutation(trpc.admin.queueImport.mutationOptions());

  const fileRef = useRef<HTMLInputElement>(null);
  const [upload, setUpload] = useState<number | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const [importState, setImportState] = useState<{
    status: string;
    fraction: number | null;
    rows: number;
    report: Report | null;
    error: string | null;
  } | null>(null);

  // Follow the job while it runs.
  useEffect(() => {
    if (!jobId) return;
    let stop = false;
    const tick = async () => {
      try {
        const j = await client.admin.importJob.query({ jobId });
        if (stop) return;
        setImportState((s) => ({
          status: j.status,
          fraction: j.fraction,
          rows: j.rowsDone,
          report: (j.report as Report) ?? s?.report ?? null,
          error: j.error,
        }));
        if (j.status === "succeeded" || j.status === "failed") {
          void qc.invalidateQueries({ queryKey: trpc.admin.importJobs.queryKey() });
          return;
        }
      } catch {
        /* keep polling */
      }
      if (!stop) setTimeout(tick, 400);
    };
    void tick();
    return () => {
      stop = true;
    };
  }, [jobId, client, qc, trpc]);

  const startImport = async () => {
    const file = fileRef.current?.files?.[0];
    if (!file || !project) return;
    setImportState({ status: "queued", fraction: 0, rows: 0, report: null, error: null });
    setUpload(0);
    try {
      const { jobId: id } = await queue.mutateAsync({ project, fileName: file.name, bytesTotal: file.size });
      setJobId(id);
      await new Promise<void>((resolve) => {
        const xhr = new XMLHttpRequest();
        xhr.open("POST", `/admin/data/import?job=${encodeURIComponent(id)}`);
        xhr.upload.onprogress = (e) => e.lengthComputable && setUpload(e.loaded / e.total);
        xhr.onload = () => {
          setUpload(1);
          try {
            const body = JSON.parse(xhr.responseText) as {
              status?: string;
              report?: Report;
              error?: { message: string } | string;
            };
            setImportState((s) => ({
              status: body.status ?? (xhr.status < 300 ? "succeeded" : "failed"),
              fraction: 1,
              rows: s?.rows ?? 0,
              report: body.report ?? s?.report ?? null,
              error: typeof body.error === "string" ? body.error : (body.error?.message ?? null),
            }));
          } catch {
            setImportState((s) => (s ? { ...s, status: "failed", error: `HTTP ${xhr.status}` } : s));
          }
          resolve();
        };
        xhr.onerror = () => {
          setImportState((s) =>
            s
              ? {
                  ...s,
                  status: "failed",
                  error:
                    "The upload was interrupted; import the file again (rows already imported are skipped).",
                }
              : s,
          );
          resolve();
        };
        xhr.send(file);
      });
    } catch (e) {
      setImportState({ status: "failed", fraction: null, rows: 0, report: null, error: errorMessage(e) });
    }
  };

  const [format, setFormat] = useState<Format>("trl");
  const [exportProgress, setExportProgress] = useState<{
    rows: number;
    total: number;
    done: boolean;
    error: string | null;
  } | null>(null);
  const startExport = async () => {
    if (!project) return;
    try {
      const { rows: total } = await client.admin.exportEstimate.query({ project, format });
      setExportProgress({ rows: 0, total, done: false, error: null });
      const res = await fetch(`/admin/data/export?project=${encodeURIComponent(project)}&format=${format}`);
      if (!res.ok || !res.body) {
        const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
        throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
      }
      const reader = res.body.getReader();
      const chunks: Uint8Array[] = [];
      let rows = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        for (const b of value) if (b === 10) rows++;
        setExportProgress({ rows, total, done: false, error: null });
      }
      const url = URL.createObjectURL(new Blob(chunks as BlobPart[], { type: "application/x-ndjson" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = `${project}-${format}.jsonl`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setExportProgress({ rows, total, done: true, error: null });
    } catch (e) {
      setExportProgress({ rows: 0, total: 0, done: true, error: errorMessage(e) });
    }
  };

  return (
    <div className="flex flex-col gap-6" data-testid="data-admin">
      <h1 className="text-2xl font-semibold">Import and export</h1>
      <label className="flex items-center gap-2 text-sm">
        Project
        <select
          value={project}
          onChange={(e) => setProject(e.target.value)}
          className="rounded border border-slate-300 px-2 py-1"
          data-testid="data-project"
        >
          {projects.data?.map((p) => (
            <option key={p.id} value={p.slug}>
              {p.name}
            </option>
          ))}
        </select>
      </label>

      <section
        aria-labelledby="imp"
        className="flex flex-col gap-3 rounded-lg border border-slate-200 bg-white p-4"
      >
        <h2 id="imp" className="font-semibold">
          Import
        </h2>
        <p className="text-sm text-slate-600">
          JSON Lines or a JSON array (optionally gzip): prompts with completions, comparisons, judgments, or
          TRL / HH-RLHF preference rows. Rows already imported are recognised and skipped, so a failed import
          can simply be run again.
        </p>
        <div className="flex flex-wrap items-center gap-3 text-sm">
          <label className="flex items-center gap-2">
            File
            <input
              ref={fileRef}
              type="file"
              accept=".jsonl,.json,.gz,application/json"
              data-testid="import-file"
            />
          </label>
          <button
            type="button"
            onClick={() => void startImport()}
            disabled={queue.isPending || importState?.status === "running"}
            className="rounded bg-slate-900 px-3 py-1.5 text-white disabled:opacity-50"
            data-testid="import-start"
          >
            Import
          </button>
        </div>
        {importState && (
          <div className="flex flex-col gap-2" data-testid="import-progress">
            <Progress
              value={upload}
              label={`Upload ${upload === null ? "" : `${Math.round(upload * 100)}%`}`}
              testId="import-upload-bar"
            />
            <Progress
              value={importState.fraction}
              label={`Processing: ${importStatusText(importState.status, importState.report)}, ${importState.rows.toLocaleString("en-US")} ${importState.rows === 1 ? "row" : "rows"}`}
              testId="import-job-bar"
              tone={importTone(importState.status, importState.report)}
            />
            {importState.report?.summary && (
              <p
                className={`text-sm ${importTone(importState.status, importState.report) === "partial" ? "text-amber-800" : ""}`}
                role="status"
                data-testid="import-summary"
              >
                {importState.report.summary}
              </p>
            )}
            {importState.error && (
              <p className="text-sm text-red-700" role="alert">
                {importState.error}
              </p>
            )}
            {!!importState.report?.errors?.length && (
              <ul className="max-h-48 overflow-auto text-xs text-red-800" data-testid="import-errors">
                {importState.report.errors.map((e) => (
                  <li key={e.line}>
                    line {e.line}: {e.reason}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        {!!jobs.data?.length && (
          <table className="w-full border-collapse text-sm">
            <caption className="text-left text-xs text-slate-600">Recent imports</caption>
            <thead>
              <tr className="border-b text-left">
                <th className="p-1">File</th>
                <th className="p-1">Status</th>
                <th className="p-1">Rows</th>
                <th className="p-1">Summary</th>
              </tr>
            </thead>
            <tbody>
              {jobs.data.map((j) => (
                <tr key={j.id} className="border-b align-top">
                  <td className="p-1">{j.fileName}</td>
                  <td
                    className={`p-1 ${{ ok: "text-green-800", partial: "text-amber-800", failed: "text-red-800", busy: "" }[importTone(j.status, j.report as Report)]}`}
                  >
                    {importStatusText(j.status, j.report as Report)}
                  </td>
                  <td className="p-1">{j.rowsDone}</td>
                  <td className="p-1 text-xs">{(j.report as Report).summary ?? j.error ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section
        aria-labelledby="exp"
        className="flex flex-col gap-3 rounded-lg border border-slate-200 bg-white p-4"
      >
        <h2 id="exp" className="font-semibold">
          Export
        </h2>
        <div className="flex flex-wrap items-center gap-3 text-sm">
          <label className="flex items-center gap-2">
            Format
            <select
              value={format}
              onChange={(e) => setFormat(e.target.value as Format)}
              className="rounded border border-slate-300 px-2 py-1"
              data-testid="export-format"
            >
              <option value="trl">TRL preference pairs (prompt, chosen, rejected)</option>
              <option value="kto">TRL KTO (prompt, completion, label)</option>
              <option value="hh">HH-RLHF transcripts</option>
              <option value="votes">Every judgment (votes)</option>
            </select>
          </label>
          <button
            type="button"
            onClick={() => void startExport()}
            disabled={!!exportProgress && !exportProgress.done}
            className="rounded bg-slate-900 px-3 py-1.5 text-white disabled:opacity-50"
            data-testid="export-start"
          >
            Export
          </button>
        </div>
        {exportProgress && (
          <div data-testid="export-progress">
            <Progress
              value={
                exportProgress.total
                  ? Math.min(1, exportProgress.rows / exportProgress.total)
                  : exportProgress.done
                    ? 1
                    : null
              }
              label={`${exportProgress.rows.toLocaleString()} of ${exportProgress.total.toLocaleString()} rows${exportProgress.done ? " — saved" : ""}`}
              testId="export-bar"
            />
            {exportProgress.error && (
              <p className="text-sm text-red-700" role="alert">
                {exportProgress.error}
              </p>
            )}
          </div>
        )}
      </section>
    </div>
  );
}
