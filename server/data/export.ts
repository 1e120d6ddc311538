// Streaming export as JSON Lines, in the ecosystem's formats:
//  - "trl": TRL preference rows {prompt, chosen, rejected}: strings for a text prompt, or
//    conversations ([{role, content}]) for a conversation prompt (or always, with
//    `conversational: true`), plus `margin` and provenance fields (weight, agreement,
//    chosen_model, rejected_model, comparison_id, pair_id, judgment_ids, source, created_at, and
//    split when reading a snapshot). TRL ignores the extra columns.
//  - "kto": TRL unpaired rows {prompt, completion, label} for KTO: each pair gives its chosen
//    completion (label true) and its rejected one (label false), as TRL's
//    unpair_preference_dataset does.
//  - "hh": Anthropic HH-RLHF rows {chosen, rejected}: whole transcripts "\n\nHuman: ...\n\nAssistant: ..."
//    (a system message is written as "\n\nSystem: ..."), plus the same provenance fields.
//  - "votes": every judgment, superseded ones included (with superseded_at), with its annotator or
//    judge, verdict, display order, time spent, confidence, rationale and ratings.
// Consistency: rows are read through a cursor inside one REPEATABLE READ READ ONLY transaction, so
// a file written while annotation continues is one consistent picture (never torn). Reading by
// snapshot id reads frozen rows. The embedded database (PGlite) has a single session: a long
// export holds it, so big exports there are best made from a snapshot, off hours.
import { z } from "zod";
import pg from "pg";
import { DomainError } from "@/server/errors";
import { HH_METADATA_KEY, renderHHTranscript } from "./import/formats";
import type { ChatMessage } from "./hash";
import { databaseUrl } from "./pg";
import { PairOrigin } from "./snapshots";

export const ExportFormat = z.enum(["trl", "kto", "hh", "votes"]);
export type ExportFormat = z.infer<typeof ExportFormat>;

export const ExportFilter = z.object({
  /** Project id or slug. */
  project: z.string().min(1),
  format: ExportFormat.default("trl"),
  /** Pairs (votes: judgments) created at or after / before. */
  from: z.coerce.date().optional(),
  to: z.coerce.date().optional(),
  /** Read a frozen snapshot's pairs instead of the currently active ones. */
  snapshotId: z.string().min(1).optional(),
  /** With snapshotId: only this split. */
  split: z.enum(["train", "validation", "test"]).optional(),
  minAgreement: z.coerce.number().min(0).max(1).optional(),
  /** Pair origins (votes: judgment sources) to keep: ["human"] is human-only, ["ai"] AI-only. */
  origins: z
    .array(z.enum(["human", "ai", "mixed", "import", "adjudication"]))
    .min(1)
    .optional(),
  /** trl/kto: write text prompts as conversations too. */
  conversational: z.boolean().default(false),
});
export type ExportFilter = z.input<typeof ExportFilter>;

const FETCH = 1000;

interface PairRow {
  pair_id: string;
  comparison_id: string;
  margin: number;
  weight: number;
  agreement: number;
  judgment_ids: string[];
  origin: string;
  created_at: Date;
  prompt_text: string | null;
  prompt_messages: ChatMessage[] | null;
  chosen: string;
  chosen_model: string;
  rejected: string;
  rejected_model: string;
  split: string | null;
  /** HH markers written without their space, from the import (see HH_METADATA_KEY). */
  prompt_hh: { unspaced?: number[] } | null;
  chosen_hh: { unspaced?: boolean } | null;
  rejected_hh: { unspaced?: boolean } | null;
}

function params() {
  const values: unknown[] = [];
  return { values, p: (v: unknown) => (values.push(v), `$${values.length}`) };
}

function pairsQuery(
  projectId: string,
  f: z.output<typeof ExportFilter>,
): { text: string; values: unknown[] } {
  const { values, p } = params();
  const where = [`pp."projectId" = ${p(projectId)}`];
  let join = "";
  let split = "NULL::text";
  if (f.snapshotId) {
    join = `JOIN "SnapshotPair" sp ON sp."pairId" = pp.id AND sp."snapshotId" = ${p(f.snapshotId)}`;
    split = "sp.split::text";
    if (f.split) where.push(`sp.split = ${p(f.split)}::"Split"`);
  } else where.push("pp.active");
  if (f.from) where.push(`pp."createdAt" >= ${p(f.from)}`);
  if (f.to) where.push(`pp."createdAt" < ${p(f.to)}`);
  if (f.minAgreement !== undefined) where.push(`pp.agreement >= ${p(f.minAgreement)}`);
  if (f.origins)
    where.push(`pp.origin = ANY(${p(f.origins.map((o) => (o === "adjudication" ? "human" : o)))})`);
  return {
    text: `SELECT pp.id AS pair_id, pp."comparisonId" AS comparison_id, pp.margin, pp.weight, pp.agreement, pp."judgmentIds" AS judgment_ids, pp.origin,
             pp."createdAt" AS created_at, pr.text AS prompt_text, pr.messages AS prompt_messages,
             ch.text AS chosen, ch."modelName" AS chosen_model, rj.text AS rejected, rj."modelName" AS rejected_model, ${split} AS split,
             pr.metadata->'${HH_METADATA_KEY}' AS prompt_hh, ch.metadata->'${HH_METADATA_KEY}' AS chosen_hh, rj.metadata->'${HH_METADATA_KEY}' AS rejected_hh
           FROM "PreferencePair" pp ${join}
           JOIN "Prompt" pr ON pr.id = pp."promptId"
           JOIN "Completion" ch ON ch.id = pp."chosenId"
           JOIN "Completion" rj ON rj.id = pp."rejectedId"
           WHERE ${where.join(" AND ")}
           ORDER BY pp."createdAt", pp.id`,
    values,
  };
}

function votesQuery(
  projectId: string,
  f: z.output<typeof ExportFilter>,
): { text: string; values: unknown[] } {
  const { values, p } = params();
  const where = [`j."projectId" = ${p(projectId)}`];
  if (f.from) where.push(`j."createdAt" >= ${p(f.from)}`);
  if (f.to) where.push(`j."createdAt" < ${p(f.to)}`);
  if (f.minAgreement !== undefined) where.push(`c.agreement >= ${p(f.minAgreement)}`);
  if (f.origins) where.push(`j.source::text = ANY(${p(f.origins.filter((o) => o !== "mixed"))})`);
  if (f.snapshotId)
    where.push(
      `c.id IN (SELECT pp."comparisonId" FROM "SnapshotPair" sp JOIN "PreferencePair" pp ON pp.id = sp."pairId" WHERE sp."snapshotId" = ${p(f.snapshotId)})`,
    );
  return {
    text: `SELECT j.id AS judgment_id, j."comparisonId" AS comparison_id, j.source::text AS source, j."userId" AS annotator_id, u.name AS annotator_name,
             j."judgeConfigId" AS judge_config_id, j."judgeRunId" AS judge_run_id, j."assignmentId" AS assignment_id, j.verdict, j.rationale, j.ratings,
             j.flag, j."flagReason" AS flag_reason, j."displayOrder" AS display_order, j."timeSpentMs" AS time_spent_ms, j.confidence,
             j."isGoldCheck" AS is_gold_check, j."goldCorrect" AS gold_correct, j."supersedesId" AS supersedes_id, j."supersededAt" AS superseded_at,
             j."createdAt" AS created_at, c.status::text AS comparison_status, c.agreement AS comparison_agreement,
             pr.text AS prompt_text, pr.messages AS prompt_messages,
             (SELECT json_agg(json_build_object('id', co.id, 'text', co.text, 'model', co."modelName") ORDER BY array_position(c."completionIds", co.id))
                FROM "Completion" co WHERE co.id = ANY(c."completionIds")) AS completions
           FROM "Judgment" j
           JOIN "Comparison" c ON c.id = j."comparisonId"
           JOIN "Prompt" pr ON pr.id = c."promptId"
           LEFT JOIN "User" u ON u.id = j."userId"
           WHERE ${where.join(" AND ")}
           ORDER BY j."createdAt", j.id`,
    values,
  };
}

const asMessages = (r: {
  prompt_text: string | null;
  prompt_messages: ChatMessage[] | null;
}): ChatMessage[] => r.prompt_messages ?? [{ role: "user", content: r.prompt_text ?? "" }];
const assistant = (content: string): ChatMessage[] => [{ role: "assistant", content }];

function provenance(r: PairRow) {
  return {
    margin: r.margin,
    weight: r.weight,
    agreement: r.agreement,
    chosen_model: r.chosen_model,
    rejected_model: r.rejected_model,
    comparison_id: r.comparison_id,
    pair_id: r.pair_id,
    judgment_ids: r.judgment_ids,
    source: r.origin,
    created_at: r.created_at.toISOString(),
    ...(r.split ? { split: r.split } : {}),
  };
}

/** One pair row -> the JSON objects of a format (kto gives two). */
export function formatPair(
  r: PairRow,
  format: Exclude<ExportFormat, "votes">,
  conversational: boolean,
): object[] {
  const conv = conversational || r.prompt_messages !== null;
  if (format === "trl") {
    return [
      conv
        ? {
            prompt: asMessages(r),
            chosen: assistant(r.chosen),
            rejected: assistant(r.rejected),
            ...provenance(r),
          }
        : { prompt: r.prompt_text, chosen: r.chosen, rejected: r.rejected, ...provenance(r) },
    ];
  }
  if (format === "hh") {
    const prompt = asMessages(r);
    const unspaced = (completion: { unspaced?: boolean } | null) => [
      ...(Array.isArray(r.prompt_hh?.unspaced) ? r.prompt_hh.unspaced : []),
      ...(completion?.unspaced === true ? [prompt.length] : []),
    ];
    return [
      {
        chosen: renderHHTranscript([...prompt, ...assistant(r.chosen)], unspaced(r.chosen_hh)),
        rejected: renderHHTranscript([...prompt, ...assistant(r.rejected)], unspaced(r.rejected_hh)),
        ...provenance(r),
      },
    ];
  }
  const prompt = conv ? asMessages(r) : r.prompt_text;
  const common = {
    comparison_id: r.comparison_id,
    pair_id: r.pair_id,
    source: r.origin,
    ...(r.split ? { split: r.split } : {}),
  };
  return [
    {
      prompt,
      completion: conv ? assistant(r.chosen) : r.chosen,
      label: true,
      model: r.chosen_model,
      ...common,
    },
    {
      prompt,
      completion: conv ? assistant(r.rejected) : r.rejected,
      label: false,
      model: r.rejected_model,
      ...common,
    },
  ];
}

function formatVote(r: Record<string, unknown>): object {
  const { prompt_text, prompt_messages, created_at, superseded_at, ...rest } = r;
  return {
    prompt: prompt_messages ?? prompt_text,
    ...rest,
    created_at: (created_at as Date).toISOString(),
    superseded_at: superseded_at ? (superseded_at as Date).toISOString() : null,
  };
}

export interface ExportOptions {
  url?: string;
  /** Rows fetched per round trip. */
  fetchSize?: number;
}

/** Resolve the filter and open the read: throws DomainError before any row is produced. */
async function open(
  filter: ExportFilter,
  opts: ExportOptions,
): Promise<{ client: pg.Client; f: z.output<typeof ExportFilter> }> {
  const parsed = ExportFilter.safeParse(filter);
  if (!parsed.success)
    throw new DomainError(
      "bad_request",
      `Invalid export filter: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  const f = parsed.data;
  if (f.split && !f.snapshotId)
    throw new DomainError(
      "bad_request",
      "split needs a snapshot: pass snapshotId too (splits are made when a snapshot is frozen).",
    );
  const client = new pg.Client({
    connectionString: databaseUrl(opts.url),
    application_name: "pairwise-export",
  });
  client.on("error", () => {});
  await client.connect();
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const { rows } = await client.query<{ id: string }>(
      `SELECT id FROM "Project" WHERE id = $1 OR slug = $1 LIMIT 1`,
      [f.project],
    );
    if (!rows[0]) throw new DomainError("not_found", `No project "${f.project}" (by id or slug).`);
    if (f.snapshotId) {
      const s = await client.query(`SELECT 1 FROM "DatasetSnapshot" WHERE id = $1 AND "projectId" = $2`, [
        f.snapshotId,
        rows[0].id,
      ]);
      if (!s.rowCount)
        throw new DomainError("not_found", `No snapshot ${f.snapshotId} in project "${f.project}".`);
    }
    const q = f.format === "votes" ? votesQuery(rows[0].id, f) : pairsQuery(rows[0].id, f);
    await client.query(`DECLARE export_rows NO SCROLL CURSOR FOR ${q.text}`, q.values);
    return { client, f };
  } catch (e) {
    await client.end().catch(() => {});
    throw e;
  }
}

/**
 * The export as JSON Lines (each string ends with "\n"). Validation and "not found" errors are
 * thrown by the first `next()`, before any line; stop early with `return()` (a for-await `break`)
 * and the read is closed.
 */
export async function* exportLines(filter: ExportFilter, opts: ExportOptions = {}): AsyncGenerator<string> {
  const { client, f } = await open(filter, opts);
  const fetch = opts.fetchSize ?? FETCH;
  try {
    for (;;) {
      const { rows } = await client.query(`FETCH ${fetch} FROM export_rows`);
      let out = "";
      for (const r of rows) {
        if (f.format === "votes") out += JSON.stringify(formatVote(r)) + "\n";
        else
          for (const o of formatPair(r as PairRow, f.format, f.conversational))
            out += JSON.stringify(o) + "\n";
      }
      if (out) yield out;
      if (rows.length < fetch) break;
    }
    await client.query("COMMIT");
  } finally {
    await client.end().catch(() => {});
  }
}

/** The export as a web ReadableStream of UTF-8 bytes (a REST response body). */
export async function exportStream(
  filter: ExportFilter,
  opts: ExportOptions = {},
): Promise<ReadableStream<Uint8Array>> {
  const it = exportLines(filter, opts);
  const encoder = new TextEncoder();
  // Pull the first chunk now, so a bad filter or an unknown project is an error response, not a broken stream.
  const first = await it.next();
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        if (first.done) controller.close();
        else controller.enqueue(encoder.encode(first.value));
      },
      async pull(controller) {
        try {
          const next = await it.next();
          if (next.done) controller.close();
          else controller.enqueue(encoder.encode(next.value));
        } catch (e) {
          controller.error(e);
        }
      },
      async cancel() {
        await it.return(undefined);
      },
    },
    { highWaterMark: 1 },
  );
}

/** Write an export to a Node writable (a file, stdout), respecting backpressure; returns lines written. */
export async function writeExport(
  filter: ExportFilter,
  out: NodeJS.WritableStream,
  opts: ExportOptions = {},
): Promise<{ lines: number; bytes: number }> {
  let lines = 0;
  let bytes = 0;
  for await (const chunk of exportLines(filter, opts)) {
    for (let i = chunk.indexOf("\n"); i >= 0; i = chunk.indexOf("\n", i + 1)) lines++;
    bytes += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
  }
  return { lines, bytes };
}

export { PairOrigin };
