// Streaming import: bytes -> records (reader.ts) -> validated rows (formats.ts) -> batches written
// in one transaction each, with multi-row INSERT ... SELECT FROM json_to_recordset(...) ON CONFLICT
// DO NOTHING (one JSON parameter per table and batch; ids generated here).
//
// - Memory is bounded: at most two batches are held (one being parsed while the previous one is
//   written), and a record longer than the accepted maximum is skipped without being kept.
// - Idempotent: prompts, completions and comparisons are deduplicated by content hash (unique
//   indexes), an imported judgment's idempotency key is derived from its comparison, so importing
//   the same file again adds nothing and the report says so.
// - Nothing is half-written: a batch (its rows in every table, and the ImportJob progress) commits
//   or rolls back as a whole. A failed import can simply be run again: what was committed is
//   recognised as duplicates.
// - Progress is kept on the ImportJob row (bytesDone, bytesTotal, rowsDone, report) after every
//   batch, for the admin UI (getImportJob) and the CLI's progress bar (onProgress).
import crypto from "node:crypto";
import type pg from "pg";
import { DomainError } from "@/server/errors";
import { env } from "@/server/env";
import { clientSql } from "@/server/db/sql";
import { aggregate } from "../aggregate";
import { recomputeComparison } from "../judgments";
import { completionHash, comparisonHash, promptHash, type PromptContent } from "../hash";
import { newId } from "../ids";
import { connectPg, withPgClient } from "../pg";
import type { Verdict } from "../verdict";
import {
  MAX_COMPLETIONS,
  RowError,
  parseRow,
  type CompletionIn,
  type ImportRow,
  type RowFormat,
  type RowJudgment,
} from "./formats";
import { readRecords, type ByteSource } from "./reader";

export interface ImportOptions {
  /** Default project (id or slug) for rows without a "project" field. */
  project?: string;
  fileName?: string;
  /** Size of the input, when known (file size, Content-Length): shown as progress. */
  bytesTotal?: number;
  createdById?: string;
  /** An ImportJob created beforehand (queued by the UI or the API); otherwise one is created. */
  jobId?: string;
  /** Rows per transaction. */
  batchSize?: number;
  maxTextChars?: number;
  /** How many bad lines the report lists (all are counted). */
  maxReportedErrors?: number;
  onProgress?: (p: ImportProgress) => void;
  /** Database URL; default DATABASE_URL. */
  url?: string;
  /** Connections writing batches at once (default 2 on PostgreSQL, which gives each its own core; 1 on the embedded database). */
  writers?: number;
  /** Stop after the current batch (Ctrl-C in the CLI, a closed HTTP request). */
  signal?: AbortSignal;
}

export interface ImportProgress {
  jobId: string;
  bytesDone: number;
  bytesTotal: number | null;
  rowsDone: number;
  report: ImportReport;
}

export interface ImportReport {
  /** Records read (non-blank lines, or array elements). */
  rows: number;
  valid: number;
  invalid: number;
  /** Valid rows that added nothing: their content was already there (or earlier in the file). */
  duplicates: number;
  added: { prompts: number; completions: number; comparisons: number; judgments: number; pairs: number };
  byFormat: Partial<Record<RowFormat, number>>;
  /** The first bad lines, with the reason. */
  errors: Array<{ line: number; reason: string }>;
  /** A problem with the file as a whole (not JSON, truncated, binary), when there is one. */
  fatal?: string;
  /** Things worth knowing that are not errors (e.g. chat completions that were not grouped). */
  notes: string[];
  summary: string;
}

export interface ImportResult {
  jobId: string;
  status: "succeeded" | "failed";
  report: ImportReport;
  error?: string;
}

const NOT_JSON_AFTER = 20; // this many unparseable records before any good one: the file is not JSON

interface ProjectInfo {
  id: string;
  kind: "pairwise" | "ranking";
}

interface Prepared {
  line: number;
  row: ImportRow;
  projectId: string;
  kind: ProjectInfo["kind"];
}

export function emptyReport(): ImportReport {
  return {
    rows: 0,
    valid: 0,
    invalid: 0,
    duplicates: 0,
    added: { prompts: 0, completions: 0, comparisons: 0, judgments: 0, pairs: 0 },
    byFormat: {},
    errors: [],
    notes: [],
    summary: "",
  };
}

export function summarize(r: ImportReport): string {
  const parts: string[] = [];
  if (r.fatal && r.valid === 0) parts.push(`Nothing imported: ${r.fatal}.`);
  else {
    const a = r.added;
    const any = a.prompts + a.completions + a.comparisons + a.judgments + a.pairs > 0;
    if (!any && r.valid > 0)
      parts.push(`Nothing new: all ${r.valid.toLocaleString("en")} valid rows were already imported.`);
    else
      parts.push(
        `Imported ${r.valid.toLocaleString("en")} valid rows: ${a.prompts} prompts, ${a.completions} completions, ${a.comparisons} comparisons, ${a.judgments} judgments, ${a.pairs} pairs added${r.duplicates ? `; ${r.duplicates.toLocaleString("en")} rows were already there` : ""}.`,
      );
    if (r.fatal) parts.push(`Warning: ${r.fatal}.`);
  }
  if (r.invalid)
    parts.push(
      `${r.invalid.toLocaleString("en")} bad ${r.invalid === 1 ? "row was" : "rows were"} skipped (see errors: line and reason); fix them and import the file again — rows already imported are recognised and skipped.`,
    );
  if (r.rows === 0 && !r.fatal) parts.push("The file is empty.");
  return parts.join(" ");
}

const json = (v: unknown) => JSON.stringify(v);
const BAD_JSONB = /\\u0000|\\ud[89a-f][0-9a-f]{2}/i;

/** Import a stream of JSON Lines / a JSON array; see the module comment. */
export async function importStream(source: ByteSource, opts: ImportOptions = {}): Promise<ImportResult> {
  const maxTextChars = opts.maxTextChars ?? env().PAIRWISE_MAX_TEXT_CHARS;
  // A row holds a prompt and up to MAX_COMPLETIONS texts; JSON escaping can double a text's bytes
  // and UTF-8 takes up to 3 bytes a character (4 for a surrogate pair, which is 2 characters).
  const maxRecordBytes = Math.max(1 << 20, maxTextChars * 3 * 2 * 4 + 65_536);
  const batchSize = opts.batchSize ?? 2000;
  const maxErrors = opts.maxReportedErrors ?? 100;

  const closeWriters: pg.Client[] = [];
  return withPgClient(async (client) => {
    const projects = new Map<string, ProjectInfo | null>();
    const lookupProject = async (key: string): Promise<ProjectInfo | null> => {
      if (projects.has(key)) return projects.get(key)!;
      const { rows } = await client.query<{ id: string; labelSchema: { kind?: string } }>(
        `SELECT id, "labelSchema" FROM "Project" WHERE id = $1 OR slug = $1 LIMIT 1`,
        [key],
      );
      const info = rows[0]
        ? {
            id: rows[0].id,
            kind: rows[0].labelSchema?.kind === "ranking" ? ("ranking" as const) : ("pairwise" as const),
          }
        : null;
      projects.set(key, info);
      return info;
    };
    let defaultProject: ProjectInfo | null = null;
    if (opts.project) {
      defaultProject = await lookupProject(opts.project);
      if (!defaultProject)
        throw new DomainError(
          "not_found",
          `No project "${opts.project}" (by id or slug). Create it first, or check the name with \`pairwise projects list\`.`,
        );
    }

    const report = emptyReport();
    let jobId = opts.jobId;
    if (jobId) {
      const { rowCount } = await client.query(
        `UPDATE "ImportJob" SET status = 'running', "bytesTotal" = COALESCE($2, "bytesTotal") WHERE id = $1`,
        [jobId, opts.bytesTotal ?? null],
      );
      if (!rowCount) throw new DomainError("not_found", `No import job ${jobId}.`);
    } else {
      jobId = newId();
      await client.query(
        `INSERT INTO "ImportJob" (id, "projectId", kind, "fileName", status, "bytesTotal", "createdById", report) VALUES ($1, $2, 'import', $3, 'running', $4, $5, '{}')`,
        [
          jobId,
          defaultProject?.id ?? null,
          opts.fileName ?? null,
          opts.bytesTotal ?? null,
          opts.createdById ?? null,
        ],
      );
    }
    const id = jobId;
    let bytesDone = 0;
    const chatPrompts = new Map<string, string>(); // promptId -> projectId, for grouping chat completions
    const bad = (line: number, reason: string) => {
      report.invalid++;
      if (report.errors.length < maxErrors) report.errors.push({ line, reason });
    };
    const progress = () =>
      opts.onProgress?.({
        jobId: id,
        bytesDone,
        bytesTotal: opts.bytesTotal ?? null,
        rowsDone: report.rows,
        report,
      });

    let parseFailures = 0;
    // Batches are written by `writers` connections at once (PostgreSQL runs each on its own core)
    // while this process parses the next one. A batch that meets another's uncommitted rows (the
    // same content in two batches) waits for it; a deadlock between two such batches is retried.
    // Writers have their own connections: `client` keeps the job row and the project lookups out of
    // the batches' transactions. The embedded database runs one transaction at a time: a second
    // writer would only queue there.
    const writers: pg.Client[] = [];
    const embedded = /PGlite/i.test(
      (await client.query<{ v: string }>("SELECT version() AS v")).rows[0]?.v ?? "",
    );
    for (let i = 0; i < Math.max(1, opts.writers ?? (embedded ? 1 : 2)); i++) {
      const c = await connectPg(opts.url);
      writers.push(c);
      closeWriters.push(c);
    }
    const free = [...writers];
    const hints: Hints = {
      prompt: { optimistic: true },
      completion: { optimistic: true },
      comparison: { optimistic: true },
    };
    const inflight = new Set<Promise<void>>();
    let writeError: unknown = null;
    const flush = async (batch: Prepared[]) => {
      while (!free.length) await Promise.race(inflight);
      if (writeError) throw writeError;
      const w = free.pop()!;
      const plan = planBatch(batch);
      const job: Promise<void> = writeBatchRetrying(w, plan, {
        report,
        jobId: id,
        bytesDone,
        chatPrompts,
        hints,
      })
        .then(progress, (e) => {
          writeError ??= e;
        })
        .finally(() => {
          inflight.delete(job);
          free.push(w);
        });
      inflight.add(job);
    };
    const drain = async () => {
      while (inflight.size) await Promise.race(inflight);
    };

    try {
      let batch: Prepared[] = [];
      for await (const rec of readRecords(source, { maxRecordBytes, onBytes: (n) => (bytesDone = n) })) {
        report.rows++;
        if ("error" in rec) {
          bad(rec.line, rec.error);
          if (rec.fatal) {
            report.fatal = rec.error;
            report.rows--; // a file-level problem, not a row
          }
          continue;
        }
        let value: unknown;
        try {
          value = JSON.parse(rec.text);
        } catch (e) {
          const msg = (e as Error).message;
          const cut = /end of JSON input|Unterminated string/i.test(msg)
            ? " (the line ends before the JSON does: is the file truncated?)"
            : "";
          bad(rec.line, `invalid JSON: ${msg}${cut}`);
          if (report.valid === 0 && ++parseFailures >= NOT_JSON_AFTER) {
            report.fatal = `the file is not JSON Lines or a JSON array: none of its first ${NOT_JSON_AFTER} lines parse as JSON (expected one JSON object per line, e.g. {"prompt": "...", "chosen": "...", "rejected": "..."})`;
            break;
          }
          continue;
        }
        let row: ImportRow;
        try {
          row = parseRow(value, { maxTextChars });
          if (row.metadata && BAD_JSONB.test(json(row.metadata)))
            throw new RowError(
              "metadata contains a NUL character or an unpaired surrogate, which PostgreSQL cannot store",
            );
        } catch (e) {
          if (e instanceof RowError) {
            bad(rec.line, e.message);
            continue;
          }
          throw e;
        }
        let project = defaultProject;
        if (row.project) {
          project = await lookupProject(row.project);
          if (!project) {
            bad(rec.line, `unknown project "${row.project}"`);
            continue;
          }
        }
        if (!project) {
          bad(
            rec.line,
            'no project: give the import a project (--project, or the URL\'s project) or add a "project" field to the row',
          );
          continue;
        }
        if (
          row.kind === "comparison" &&
          project.kind === "pairwise" &&
          row.completions.length > 2 &&
          !row.judgment
        ) {
          bad(
            rec.line,
            `project compares pairs, but this row has ${row.completions.length} completions and no ranking: give 2 completions, add a "ranking", or import into a ranking project`,
          );
          continue;
        }
        report.valid++;
        report.byFormat[row.format] = (report.byFormat[row.format] ?? 0) + 1;
        batch.push({ line: rec.line, row, projectId: project.id, kind: project.kind });
        if (batch.length >= batchSize) {
          await flush(batch);
          batch = [];
          if (opts.signal?.aborted) {
            report.fatal =
              "the import was stopped before the end of the file; run it again to continue (rows already imported are skipped)";
            break;
          }
        }
      }
      if (batch.length) await flush(batch);
      await drain();
      if (writeError) throw writeError;
      if (chatPrompts.size) await groupChatCompletions(client, chatPrompts, report);
      if (!report.fatal && report.valid === 0 && parseFailures > 0 && parseFailures === report.invalid) {
        report.fatal = `the file is not JSON Lines or a JSON array: none of its ${parseFailures} line${parseFailures === 1 ? "" : "s"} parse${parseFailures === 1 ? "s" : ""} as JSON (expected one JSON object per line, e.g. {"prompt": "...", "chosen": "...", "rejected": "..."})`;
      }
      report.summary = summarize(report);
      const status: ImportResult["status"] = report.fatal && report.valid === 0 ? "failed" : "succeeded";
      await client.query(
        `UPDATE "ImportJob" SET status = $2, "bytesDone" = $3, "rowsDone" = $4, report = $5, error = $6, "finishedAt" = now() WHERE id = $1`,
        [id, status, bytesDone, report.rows, json(report), status === "failed" ? report.fatal : null],
      );
      progress();
      return { jobId: id, status, report, error: status === "failed" ? report.fatal : undefined };
    } catch (e) {
      await drain().catch(() => {});
      const message = e instanceof DomainError ? e.message : `the import stopped: ${(e as Error).message}`;
      report.fatal = `${message}. Batches committed before the failure stay imported; run the import again to continue`;
      report.summary = summarize(report);
      await client.query("ROLLBACK").catch(() => {});
      await client
        .query(
          `UPDATE "ImportJob" SET status = 'failed', "bytesDone" = $2, "rowsDone" = $3, report = $4, error = $5, "finishedAt" = now() WHERE id = $1`,
          [id, bytesDone, report.rows, json(report), message],
        )
        .catch(() => {});
      progress();
      return { jobId: id, status: "failed" as const, report, error: message };
    }
  }, opts.url).finally(() => Promise.all(closeWriters.map((c) => c.end().catch(() => {}))));
}

/** Insert rows, skipping those whose unique key exists; map each input id to the row's real id. */
async function upsertReturningIds(
  client: pg.Client,
  sql: { table: string; columns: Array<[string, string]>; conflict: string; match: string },
  rows: Array<Record<string, unknown>>,
): Promise<{ ids: Map<string, string>; inserted: Set<string> }> {
  const ids = new Map<string, string>();
  const inserted = new Set<string>();
  if (!rows.length) return { ids, inserted };
  const defs = sql.columns.map(([c, t]) => `"${c}" ${t}`).join(", ");
  const cols = sql.columns.map(([c]) => `"${c}"`).join(", ");
  // Inserted rows come back from RETURNING; rows that existed before come from the join (which
  // reads the statement's snapshot, so it cannot see this statement's own inserts).
  const res = await client.query<{ mine: string; existing: string | null }>(
    `WITH input AS (SELECT * FROM json_to_recordset($1::json) AS t(${defs})),
     ins AS (INSERT INTO "${sql.table}" (${cols}) SELECT ${cols} FROM input ON CONFLICT (${sql.conflict}) DO NOTHING RETURNING id)
     SELECT id AS mine, NULL AS existing FROM ins
     UNION ALL
     SELECT i.id, e.id FROM input i JOIN "${sql.table}" e ON ${sql.match}`,
    [json(rows)],
  );
  for (const r of res.rows) {
    if (r.existing === null) inserted.add(r.mine);
    ids.set(r.mine, r.existing ?? r.mine);
  }
  const missing = rows.map((r) => r.id as string).filter((id) => !ids.has(id));
  if (missing.length) {
    // Inserted by another transaction after this statement's snapshot: read it now.
    const again = await client.query<{ mine: string; existing: string }>(
      `WITH input AS (SELECT * FROM json_to_recordset($1::json) AS t(${defs})) SELECT i.id AS mine, e.id AS existing FROM input i JOIN "${sql.table}" e ON ${sql.match}`,
      [json(rows.filter((r) => !ids.has(r.id as string)))],
    );
    for (const r of again.rows) ids.set(r.mine, r.existing);
  }
  return { ids, inserted };
}

interface TableSpec {
  table: string;
  columns: Array<[string, string]>;
  /** The unique key's columns (text), as they appear in `columns`. */
  keys: string[];
  conflict: string;
  match: string;
}

/**
 * Insert the rows whose unique key is not taken yet; map each input id to the row's real id.
 * Measured on PostgreSQL 15: a plain INSERT (after probing the unique index for what exists)
 * costs about half of INSERT ... ON CONFLICT DO NOTHING (speculative insertion). If another
 * transaction inserts one of the keys meanwhile, the plain INSERT fails on the unique index: it is
 * rolled back to a savepoint and redone with ON CONFLICT, so concurrent imports stay correct.
 */
async function insertNew(
  client: pg.Client,
  spec: TableSpec,
  rows: Array<Record<string, unknown>>,
  hint: { optimistic: boolean },
): Promise<{ ids: Map<string, string>; inserted: Set<string> }> {
  const ids = new Map<string, string>();
  const inserted = new Set<string>();
  if (!rows.length) return { ids, inserted };
  const defs = spec.columns.map(([c, t]) => `"${c}" ${t}`).join(", ");
  const cols = spec.columns.map(([c]) => `"${c}"`).join(", ");
  const plainInsert = async (fresh: Array<Record<string, unknown>>): Promise<boolean> => {
    await client.query("SAVEPOINT insert_new");
    try {
      await client.query(
        `INSERT INTO "${spec.table}" (${cols}) SELECT ${cols} FROM json_to_recordset($1::json) AS t(${defs})`,
        [json(fresh)],
      );
      await client.query("RELEASE SAVEPOINT insert_new");
    } catch (e) {
      if ((e as { code?: string }).code !== "23505") throw e;
      await client.query("ROLLBACK TO SAVEPOINT insert_new");
      return false;
    }
    for (const r of fresh) {
      ids.set(r.id as string, r.id as string);
      inserted.add(r.id as string);
    }
    return true;
  };
  // While batches keep bringing only new content (a first import), skip the probe: insert, and
  // only if a key turns out to be taken, roll back to the savepoint and probe.
  if (hint.optimistic && (await plainInsert(rows))) return { ids, inserted };
  hint.optimistic = false;
  const probeDefs = ["id", ...spec.keys].map((c) => `"${c}" text`).join(", ");
  const probe = await client.query<{ mine: string; existing: string }>(
    `SELECT i.id AS mine, e.id AS existing FROM json_to_recordset($1::json) AS i(${probeDefs}) JOIN "${spec.table}" e ON ${spec.match}`,
    [json(rows.map((r) => Object.fromEntries(["id", ...spec.keys].map((k) => [k, r[k]]))))],
  );
  for (const r of probe.rows) ids.set(r.mine, r.existing);
  const fresh = ids.size ? rows.filter((r) => !ids.has(r.id as string)) : rows;
  if (!fresh.length) return { ids, inserted };
  if (ids.size === 0) hint.optimistic = true; // nothing was there after all: try the fast path next time
  if (await plainInsert(fresh)) return { ids, inserted };
  // Another transaction inserted one of these keys meanwhile.
  const again = await upsertReturningIds(client, spec, fresh);
  for (const [k, v] of again.ids) ids.set(k, v);
  for (const k of again.inserted) inserted.add(k);
  return { ids, inserted };
}

// ---------------------------------------------------------------------------------------------
// One batch: planBatch works out what the rows add, from the rows alone (pure, unit-testable);
// writeBatch writes that plan in one transaction.

interface PromptDraft {
  id: string;
  projectId: string;
  contentHash: string;
  text: string | null;
  messages: unknown;
  metadata: unknown;
}

interface CompletionDraft {
  id: string;
  projectId: string;
  promptKey: string;
  contentHash: string;
  text: string;
  modelName: string;
  metadata: unknown;
}

/** A preference or ranking carried by a row: one vote on its comparison. */
interface VoteDraft {
  judgment: RowJudgment;
  /** The completions' keys in the row's order (the judgment's indices point into it). */
  rowKeys: string[];
  /** The vote in content terms (completion hashes): rows with the same one are one vote. */
  contentKey: string;
}

interface ComparisonDraft {
  id: string;
  projectId: string;
  promptKey: string;
  completionKeys: string[]; // canonical order: by content hash
  contentHash: string;
  metadata: unknown;
  /** The distinct votes of the batch's rows on this comparison, in file order. */
  votes: VoteDraft[];
}

/** A row's share of the batch: counted as added or as a duplicate once the batch is written. */
type RowShare =
  | { kind: "prompt"; key: string; first: boolean }
  | { kind: "completion"; key: string; first: boolean }
  | { kind: "comparison"; key: string; vote: string | null; first: boolean };

export interface BatchPlan {
  /** Drafts by content key (project + content hash), deduplicated within the batch. */
  prompts: Map<string, PromptDraft>;
  completions: Map<string, CompletionDraft>;
  comparisons: Map<string, ComparisonDraft>;
  /** One entry per row, in file order. */
  rows: RowShare[];
  /** Prompt keys of chat rows (one completion each): grouped into comparisons at the end. */
  chatPromptKeys: string[];
}

/** A vote in content terms, so that the same preference is recognised in any batch or file. */
function voteKey(j: RowJudgment, hashes: readonly string[]): string {
  if (j.kind === "win") return `win:${hashes[j.chosen]}>${hashes[j.rejected]}`;
  return `rank:${j.groups
    .map((g) =>
      g
        .map((i) => hashes[i])
        .sort()
        .join(","),
    )
    .join(">")}`;
}

/** The same key for a stored verdict (completion ids -> their content hashes). */
function verdictKey(v: Verdict, hashOf: ReadonlyMap<string, string>): string | null {
  if (v.kind === "ranking")
    return `rank:${v.ranking
      .map((g) =>
        g
          .map((id) => hashOf.get(id))
          .sort()
          .join(","),
      )
      .join(">")}`;
  return v.outcome === "win" ? `win:${hashOf.get(v.winnerId)}>${hashOf.get(v.loserId)}` : null;
}

/** What a batch of valid rows adds, deduplicated by content within the batch. */
export function planBatch(batch: readonly Prepared[]): BatchPlan {
  const plan: BatchPlan = {
    prompts: new Map(),
    completions: new Map(),
    comparisons: new Map(),
    rows: [],
    chatPromptKeys: [],
  };
  const promptKeyOf = (p: Prepared, content: PromptContent, metadata?: unknown) => {
    const hash = promptHash(content);
    const key = `${p.projectId}\u0001${hash}`;
    if (!plan.prompts.has(key))
      plan.prompts.set(key, {
        id: newId(),
        projectId: p.projectId,
        contentHash: hash,
        text: content.text ?? null,
        messages: content.messages ?? null,
        metadata: metadata ?? {},
      });
    return key;
  };
  const completionKeyOf = (p: Prepared, promptKey: string, c: CompletionIn) => {
    const hash = completionHash(c.text);
    const key = `${promptKey}\u0001${hash}`;
    if (!plan.completions.has(key))
      plan.completions.set(key, {
        id: newId(),
        projectId: p.projectId,
        promptKey,
        contentHash: hash,
        text: c.text,
        modelName: c.model ?? "unknown",
        metadata: c.metadata ?? {},
      });
    return key;
  };
  const seen = new Set<string>();
  const firstTime = (key: string) => !seen.has(key) && Boolean(seen.add(key));
  for (const p of batch) {
    const r = p.row;
    if (r.kind === "prompt") {
      const key = promptKeyOf(p, r.prompt, r.metadata);
      plan.rows.push({ kind: "prompt", key, first: firstTime(key) });
    } else if (r.kind === "completion") {
      const pk = promptKeyOf(p, r.prompt, r.metadata);
      const key = completionKeyOf(p, pk, r.completion);
      plan.rows.push({ kind: "completion", key, first: firstTime(key) });
      plan.chatPromptKeys.push(pk);
    } else {
      const pk = promptKeyOf(p, r.prompt, r.promptMetadata);
      const rowKeys = r.completions.map((c) => completionKeyOf(p, pk, c));
      const hashes = rowKeys.map((k) => plan.completions.get(k)!.contentHash);
      const hash = comparisonHash(plan.prompts.get(pk)!.contentHash, hashes);
      const key = `${p.projectId}\u0001${hash}`;
      let c = plan.comparisons.get(key);
      if (!c) {
        const completionKeys = [...rowKeys].sort((a, b) =>
          plan.completions.get(a)!.contentHash < plan.completions.get(b)!.contentHash ? -1 : 1,
        );
        c = {
          id: newId(),
          projectId: p.projectId,
          promptKey: pk,
          completionKeys,
          contentHash: hash,
          metadata: r.metadata ?? {},
          votes: [],
        };
        plan.comparisons.set(key, c);
      }
      let vote: string | null = null;
      if (r.judgment) {
        vote = voteKey(r.judgment, hashes);
        if (!c.votes.some((v) => v.contentKey === vote))
          c.votes.push({ judgment: r.judgment, rowKeys, contentKey: vote });
      }
      plan.rows.push({ kind: "comparison", key, vote, first: firstTime(`${key}\u0002${vote ?? ""}`) });
    }
  }
  return plan;
}

/**
 * An imported judgment's idempotency key, from content only, so that importing a file again adds
 * nothing: a comparison's first vote has the key of the comparison; a further, different vote
 * (the same comparison with another preference: a second vote, kept as one) adds its own digest.
 */
function importJudgmentKey(c: ComparisonDraft, vote: VoteDraft, first: boolean): string {
  const base = `import:${c.projectId}:${c.contentHash}`;
  if (first) return base;
  return `${base}:${crypto.createHash("sha256").update(vote.contentKey).digest("hex").slice(0, 24)}`;
}

function verdictOf(judgment: RowJudgment, ids: readonly string[]): Verdict {
  return judgment.kind === "win"
    ? {
        kind: "pairwise",
        outcome: "win",
        winnerId: ids[judgment.chosen]!,
        loserId: ids[judgment.rejected]!,
        strength: 1,
        margin: judgment.margin,
      }
    : { kind: "ranking", ranking: judgment.groups.map((g) => g.map((i) => ids[i]!)) };
}

interface Hints {
  prompt: { optimistic: boolean };
  completion: { optimistic: boolean };
  comparison: { optimistic: boolean };
}

/** The import's state a batch writes into (its report, job row and hints); shared by the writers. */
interface BatchTarget {
  report: ImportReport;
  jobId: string;
  bytesDone: number;
  /** promptId -> projectId of chat rows' prompts, for groupChatCompletions. */
  chatPrompts: Map<string, string>;
  hints: Hints;
}

/** A batch that deadlocked with another writer's batch (same content in both) is tried again. */
async function writeBatchRetrying(client: pg.Client, plan: BatchPlan, target: BatchTarget): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await writeBatch(client, plan, target);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (attempt >= 3 || (code !== "40P01" && code !== "40001")) throw e;
    }
  }
}

/** Writes a plan in one transaction; the report counts it (added, duplicates) with its COMMIT. */
async function writeBatch(client: pg.Client, plan: BatchPlan, target: BatchTarget): Promise<void> {
  const { prompts, completions, comparisons } = plan;
  const delta = { prompts: 0, completions: 0, comparisons: 0, judgments: 0, pairs: 0 };
  let duplicates = 0;
  await client.query("BEGIN");
  try {
    // Don't wait for the WAL flush at each batch's commit: a crash can lose only the last batches,
    // and running the import again re-adds exactly those (it is idempotent). Scoped to this
    // transaction (SET LOCAL): the embedded database's single session is shared.
    const now = (await client.query<{ now: string }>(
      "SET LOCAL synchronous_commit TO off; SELECT now()::timestamp(3)::text AS now",
    )) as unknown as Array<{ rows: Array<{ now: string }> }>;
    const nowText = now[1]!.rows[0]!.now;
    const promptRes = await insertNew(
      client,
      {
        table: "Prompt",
        columns: [
          ["id", "text"],
          ["projectId", "text"],
          ["contentHash", "text"],
          ["text", "text"],
          ["messages", "jsonb"],
          ["metadata", "jsonb"],
        ],
        keys: ["projectId", "contentHash"],
        conflict: `"projectId", "contentHash"`,
        match: `e."projectId" = i."projectId" AND e."contentHash" = i."contentHash"`,
      },
      [...prompts.values()] as unknown as Array<Record<string, unknown>>,
      target.hints.prompt,
    );
    const promptId = (key: string) => promptRes.ids.get(prompts.get(key)!.id)!;

    const completionRows = [...completions.values()].map((c) => ({
      id: c.id,
      projectId: c.projectId,
      promptId: promptId(c.promptKey),
      contentHash: c.contentHash,
      text: c.text,
      modelName: c.modelName,
      metadata: c.metadata,
    }));
    const completionRes = await insertNew(
      client,
      {
        table: "Completion",
        columns: [
          ["id", "text"],
          ["projectId", "text"],
          ["promptId", "text"],
          ["contentHash", "text"],
          ["text", "text"],
          ["modelName", "text"],
          ["metadata", "jsonb"],
        ],
        keys: ["promptId", "contentHash"],
        conflict: `"promptId", "contentHash"`,
        match: `e."promptId" = i."promptId" AND e."contentHash" = i."contentHash"`,
      },
      completionRows,
      target.hints.completion,
    );
    const completionId = (key: string) => completionRes.ids.get(completions.get(key)!.id)!;

    // A new comparison is written with its first vote's outcome; judgments and pairs follow.
    const cmpRows = [...comparisons.values()].map((c) => ({
      id: c.id,
      projectId: c.projectId,
      promptId: promptId(c.promptKey),
      completionIds: c.completionKeys.map(completionId),
      contentHash: c.contentHash,
      status: c.votes.length ? "complete" : "open",
      judgmentCount: c.votes.length ? 1 : 0,
      agreement: c.votes.length ? 1 : null,
      source: "import",
      metadata: c.metadata,
      completedAt: c.votes.length ? nowText : null,
    }));
    const cmpRes = await insertNew(
      client,
      {
        table: "Comparison",
        columns: [
          ["id", "text"],
          ["projectId", "text"],
          ["promptId", "text"],
          ["completionIds", "text[]"],
          ["contentHash", "text"],
          ["status", `"ComparisonStatus"`],
          ["judgmentCount", "int"],
          ["agreement", "float8"],
          ["source", "text"],
          ["metadata", "jsonb"],
          ["completedAt", "timestamp(3)"],
        ],
        keys: ["projectId", "contentHash"],
        conflict: `"projectId", "contentHash"`,
        match: `e."projectId" = i."projectId" AND e."contentHash" = i."contentHash"`,
      },
      cmpRows,
      target.hints.comparison,
    );
    const newComparisons = cmpRes.inserted;
    const comparisonId = (c: ComparisonDraft) => cmpRes.ids.get(c.id)!;

    // Votes on comparisons that were there before: only those not already imported are added.
    const known = await importedVotes(
      client,
      [...comparisons.values()].filter((c) => c.votes.length && !newComparisons.has(c.id)),
      comparisonId,
      (c) => new Map(c.completionKeys.map((k) => [completionId(k), completions.get(k)!.contentHash])),
    );

    const judgments: Array<Record<string, unknown>> = [];
    const pairs: Array<Record<string, unknown>> = [];
    const recompute: string[] = []; // comparisons holding more than one imported vote now
    for (const c of comparisons.values()) {
      const isNew = newComparisons.has(c.id);
      const fresh = c.votes.filter((v) => isNew || !known.get(comparisonId(c))?.has(v.contentKey));
      if (!fresh.length) continue;
      const cid = comparisonId(c);
      const firstIds: string[] = [];
      for (const [i, v] of fresh.entries()) {
        const id = newId();
        firstIds.push(id);
        judgments.push({
          id,
          idempotencyKey: importJudgmentKey(c, v, isNew && i === 0),
          projectId: c.projectId,
          comparisonId: cid,
          verdict: verdictOf(v.judgment, v.rowKeys.map(completionId)),
          vote: `${c.id}\u0002${v.contentKey}`,
        });
      }
      if (!isNew || fresh.length > 1) {
        recompute.push(cid);
        continue;
      }
      // The usual case: a new comparison with its one vote decides it (aggregate.ts's import rule).
      const only = judgments[judgments.length - 1]!;
      const agg = aggregate(
        c.completionKeys.map(completionId),
        [
          {
            id: only.id as string,
            source: "import",
            verdict: only.verdict as Verdict,
            createdAt: new Date(),
          },
        ],
        {
          overlap: 1,
          consensusRule: "majority",
          aiCountsTowardConsensus: false,
          reviewAgreementBelow: 0,
          weightByStrength: false,
        },
      );
      for (const pair of agg.pairs)
        pairs.push({
          id: newId(),
          projectId: c.projectId,
          comparisonId: cid,
          promptId: promptId(c.promptKey),
          ...pair,
        });
    }
    const addedVotes = new Set<string>();
    if (judgments.length) {
      const res = await client.query<{ id: string }>(
        `INSERT INTO "Judgment" (id, "idempotencyKey", "projectId", "comparisonId", source, verdict, "displayOrder")
         SELECT id, "idempotencyKey", "projectId", "comparisonId", 'import', verdict, '{}'
         FROM json_to_recordset($1::json) AS t(id text, "idempotencyKey" text, "projectId" text, "comparisonId" text, verdict jsonb)
         ON CONFLICT ("idempotencyKey") DO NOTHING RETURNING id`,
        [json(judgments.map(({ vote: _v, ...j }) => j))],
      );
      const inserted = new Set(res.rows.map((r) => r.id));
      for (const j of judgments) if (inserted.has(j.id as string)) addedVotes.add(j.vote as string);
      delta.judgments += res.rowCount ?? 0;
      // Written around recordJudgment: the dashboard rollups recount these comparisons
      // (server/annotation/rollups.ts, bringUpToDate).
      await client.query(
        `UPDATE "Comparison" SET "rolledUp" = false WHERE id = ANY($1::text[]) AND "rolledUp"`,
        [[...new Set(judgments.map((j) => String(j.comparisonId)))]],
      );
    }
    if (pairs.length) {
      const res = await client.query(
        `INSERT INTO "PreferencePair" (id, "projectId", "comparisonId", "promptId", "chosenId", "rejectedId", margin, weight, agreement, "judgmentIds", origin)
         SELECT id, "projectId", "comparisonId", "promptId", "chosenId", "rejectedId", margin, weight, agreement, "judgmentIds", origin
         FROM json_to_recordset($1::json) AS t(id text, "projectId" text, "comparisonId" text, "promptId" text, "chosenId" text, "rejectedId" text, margin float8, weight float8, agreement float8, "judgmentIds" text[], origin text)`,
        [json(pairs)],
      );
      delta.pairs += res.rowCount ?? 0;
    }
    // Several votes: the comparison is aggregated from all its judgments, as recordJudgment does.
    const sql = clientSql(client);
    for (const id of recompute) delta.pairs += (await recomputeComparison(sql, id)).pairsAdded;

    // Chat completions are grouped into comparisons at the end of the import.
    for (const key of plan.chatPromptKeys) {
      if (target.chatPrompts.size < 1_000_000)
        target.chatPrompts.set(promptId(key), prompts.get(key)!.projectId);
    }

    delta.prompts += promptRes.inserted.size;
    delta.completions += completionRes.inserted.size;
    delta.comparisons += newComparisons.size;
    for (const o of plan.rows) {
      const isNew =
        o.first &&
        (o.kind === "prompt"
          ? promptRes.inserted.has(prompts.get(o.key)!.id)
          : o.kind === "completion"
            ? completionRes.inserted.has(completions.get(o.key)!.id)
            : o.vote !== null
              ? addedVotes.has(`${comparisons.get(o.key)!.id}\u0002${o.vote}`)
              : newComparisons.has(comparisons.get(o.key)!.id));
      if (!isNew) duplicates++;
    }
    // The report counts only what committed: apply this batch's numbers with its COMMIT.
    const report = target.report;
    const after: ImportReport = {
      ...report,
      duplicates: report.duplicates + duplicates,
      added: { ...report.added },
    };
    for (const k of Object.keys(delta) as Array<keyof typeof delta>) after.added[k] += delta[k];
    after.summary = summarize(after);
    await client.query(
      `UPDATE "ImportJob" SET "bytesDone" = GREATEST("bytesDone", $2), "rowsDone" = GREATEST("rowsDone", $3), report = $4 WHERE id = $1`,
      [target.jobId, target.bytesDone, report.rows, json(after)],
    );
    await client.query("COMMIT");
    report.duplicates += duplicates;
    for (const k of Object.keys(delta) as Array<keyof typeof delta>) report.added[k] += delta[k];
    report.summary = summarize(report);
  } catch (e) {
    await client.query("ROLLBACK").catch(() => {});
    throw e;
  }
}

/** The votes already imported on existing comparisons, as content keys, by comparison id. */
async function importedVotes(
  client: pg.Client,
  drafts: ComparisonDraft[],
  comparisonId: (c: ComparisonDraft) => string,
  hashesOf: (c: ComparisonDraft) => Map<string, string>,
): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  if (!drafts.length) return out;
  const byId = new Map(drafts.map((c) => [comparisonId(c), c]));
  const { rows } = await client.query<{ comparisonId: string; verdict: Verdict }>(
    `SELECT "comparisonId", verdict FROM "Judgment"
     WHERE "comparisonId" = ANY($1::text[]) AND source = 'import' AND "supersededAt" IS NULL`,
    [[...byId.keys()]],
  );
  for (const r of rows) {
    const key = verdictKey(r.verdict, hashesOf(byId.get(r.comparisonId)!));
    if (!key) continue;
    let set = out.get(r.comparisonId);
    if (!set) out.set(r.comparisonId, (set = new Set()));
    set.add(key);
  }
  return out;
}

/** Chat rows give one completion each: completions of one prompt become one comparison. */
async function groupChatCompletions(
  client: pg.Client,
  chatPrompts: Map<string, string>,
  report: ImportReport,
): Promise<void> {
  const kinds = new Map<string, "pairwise" | "ranking">();
  let tooMany = 0;
  const entries = [...chatPrompts.entries()];
  for (let i = 0; i < entries.length; i += 1000) {
    const chunk = entries.slice(i, i + 1000);
    const { rows } = await client.query<{
      promptId: string;
      projectId: string;
      promptHash: string;
      ids: string[];
      hashes: string[];
      kind: string;
    }>(
      `SELECT c."promptId", c."projectId", p."contentHash" AS "promptHash", array_agg(c.id ORDER BY c."contentHash" COLLATE "C") AS ids,
              array_agg(c."contentHash" ORDER BY c."contentHash" COLLATE "C") AS hashes, pj."labelSchema"->>'kind' AS kind
       FROM "Completion" c JOIN "Prompt" p ON p.id = c."promptId" JOIN "Project" pj ON pj.id = c."projectId"
       WHERE c."promptId" = ANY($1) GROUP BY c."promptId", c."projectId", p."contentHash", pj."labelSchema"->>'kind'`,
      [chunk.map(([id]) => id)],
    );
    const drafts: Array<Record<string, unknown>> = [];
    for (const r of rows) {
      kinds.set(r.projectId, r.kind === "ranking" ? "ranking" : "pairwise");
      const max = r.kind === "ranking" ? MAX_COMPLETIONS : 2;
      if (r.ids.length < 2) continue;
      if (r.ids.length > max) {
        tooMany++;
        continue;
      }
      drafts.push({
        id: newId(),
        projectId: r.projectId,
        promptId: r.promptId,
        completionIds: r.ids,
        contentHash: comparisonHash(r.promptHash, r.hashes),
      });
    }
    if (!drafts.length) continue;
    await client.query("BEGIN");
    try {
      const res = await client.query(
        `INSERT INTO "Comparison" (id, "projectId", "promptId", "completionIds", "contentHash", source)
         SELECT id, "projectId", "promptId", "completionIds", "contentHash", 'import'
         FROM json_to_recordset($1::json) AS t(id text, "projectId" text, "promptId" text, "completionIds" text[], "contentHash" text)
         ON CONFLICT ("projectId", "contentHash") DO NOTHING`,
        [json(drafts)],
      );
      report.added.comparisons += res.rowCount ?? 0;
      await client.query("COMMIT");
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {});
      throw e;
    }
  }
  if (tooMany) {
    report.notes.push(
      `${tooMany} prompt${tooMany === 1 ? " has" : "s have"} more completions than one comparison of this project can show (2 for pairwise, ${MAX_COMPLETIONS} for ranking); no comparison was made for ${tooMany === 1 ? "it" : "them"}: create comparisons with POST /api/v1/projects/{id}/comparisons`,
    );
  }
}

/** The ImportJob row, for the admin UI and GET /api/v1/imports/{id}. */
export interface ImportJobView {
  id: string;
  projectId: string | null;
  kind: string;
  fileName: string | null;
  status: string;
  bytesTotal: number | null;
  bytesDone: number;
  rowsDone: number;
  /** 0..1 when the size is known. */
  fraction: number | null;
  report: Partial<ImportReport>;
  error: string | null;
  createdById: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}
