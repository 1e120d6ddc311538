// Generates one scale project with plain SQL, as the annotation team would have produced it:
// 50 annotators, 8 models of known Bradley–Terry strength, overlap 3, 5% gold items, pairwise
// comparisons of two completions. 95% of the comparisons are judged three times by three distinct
// annotators (noisy, a little position-biased, some ties and "both bad"), aggregated with the
// majority rule exactly as server/data/aggregate.ts does for overlap 3 (status, agreement, pairs);
// the newest 5% are still open, so the queue has work. Gold items keep status "open" (they are
// checks, not data) and carry their known answer.
//
// Everything is set-based SQL (generate_series into an unlogged staging table, then one INSERT per
// table, with triggers off; then pw_recount_counters), so 1M comparisons take minutes, not hours. run.ts checks a sample against the app's own
// aggregation (recomputeComparison changes nothing) before it measures anything.
import pg from "pg";

export const PROJECT_ID = "scale-project";
export const ANNOTATORS = 50;
export const MODELS = 8;

const LABEL_SCHEMA = {
  kind: "pairwise",
  strength: true,
  allowTie: true,
  allowBothBad: true,
  axes: [],
  rationale: "optional",
  judgeReasoningSeparately: false,
};

export async function generate(
  url: string,
  n: number,
  log: (s: string) => void = console.log,
): Promise<{ comparisons: number; judgments: number; seconds: number }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const t0 = Date.now();
  const step = async (what: string, sql: string, params: unknown[] = []) => {
    const t = Date.now();
    const r = await c.query(sql, params);
    log(`  ${what}: ${((Date.now() - t) / 1000).toFixed(1)} s${r.rowCount ? ` (${r.rowCount} rows)` : ""}`);
  };
  try {
    await c.query(`SET synchronous_commit = off`);
    // Triggers off for the load (a row trigger per inserted row would dominate the time, and the
    // counter rows they update would each collect millions of versions in one transaction); the
    // counters are recounted from the rows at the end, set-based.
    await c.query(`SET session_replication_role = replica`);
    await c.query(`SELECT setseed(0.42)`);
    await step(
      "project and annotators",
      `WITH p AS (
        INSERT INTO "Project" (id, slug, name, "labelSchema", overlap, "goldRatio", "consensusRule", settings, "updatedAt")
        VALUES ($1, 'scale', 'Scale', $2::jsonb, 3, 0.05, 'majority', '{}', now()) RETURNING id)
      INSERT INTO "User" (id, email, name, role)
      SELECT 'scale-user-' || lpad(u::text, 2, '0'), 'annotator' || u || '@scale.test', 'Annotator ' || u, 'annotator'
      FROM generate_series(0, ${ANNOTATORS - 1}) u`,
      [PROJECT_ID, JSON.stringify(LABEL_SCHEMA)],
    );
    // Per comparison: its two models (distinct), lengths, gold, whether it is still fresh (open,
    // unjudged), its three annotators (base + k·step mod 50, distinct for step in 1..16).
    await step(
      "staging: comparisons",
      `CREATE UNLOGGED TABLE scale_gen AS
      SELECT i, ma, (ma + 1 + floor(random() * ${MODELS - 1})::int) % ${MODELS} AS mb,
        40 + floor(random() * 600)::int AS la, 40 + floor(random() * 600)::int AS lb,
        NOT fresh AND random() < 0.05 AS gold, fresh,
        floor(random() * ${ANNOTATORS})::int AS ubase, 1 + floor(random() * 16)::int AS ustep,
        timestamp '2026-09-01' + (i * (interval '90 days' / $1::int)) AS created
      FROM (SELECT i, i >= floor($1::int * 0.95) AS fresh, floor(random() * ${MODELS})::int AS ma
            FROM generate_series(0, $1::int - 1) i) s`,
      [n],
    );
    const id = (prefix: string, col = "g.i") => `'${prefix}' || lpad(${col}::text, 9, '0')`;
    await step(
      "prompts",
      `INSERT INTO "Prompt" (id, "projectId", "contentHash", text, "createdAt")
      SELECT ${id("pr")}, $1, md5('prompt' || g.i), 'Prompt ' || g.i || ': explain the idea in a few sentences.', g.created
      FROM scale_gen g`,
      [PROJECT_ID],
    );
    await step(
      "completions",
      `INSERT INTO "Completion" (id, "projectId", "promptId", "contentHash", text, "modelName", "createdAt")
      SELECT ${id("ca")}, $1, ${id("pr")}, md5('a' || g.i), 'Answer ' || g.i || ': ' || repeat('lorem ipsum ', g.la / 12 + 1), 'model-' || g.ma, g.created FROM scale_gen g
      UNION ALL
      SELECT ${id("cb")}, $1, ${id("pr")}, md5('b' || g.i), 'Answer ' || g.i || ': ' || repeat('dolor sit ', g.lb / 10 + 1), 'model-' || g.mb, g.created FROM scale_gen g`,
      [PROJECT_ID],
    );
    // Judgments: the true winner by Bradley–Terry (θ = 0.15·model, log10 odds); each annotator
    // answers at random with probability 5..30% (by annotator); 8% ties, 3% both bad; annotators
    // 0, 7, 14... prefer the left completion a little when unsure.
    await step(
      "staging: judgments",
      `CREATE UNLOGGED TABLE scale_j AS
      SELECT g.i, k, (g.ubase + k * g.ustep) % ${ANNOTATORS} AS u, r_out, r_noise, r_side, r_left, r_strength,
        g.created + (k + 1) * interval '7 minutes' + r_time * interval '30 minutes' AS at,
        (2000 + floor(r_time * r_time * 90000))::int AS ms
      FROM scale_gen g, generate_series(0, 2) k,
        LATERAL (SELECT random() AS r_out, random() AS r_noise, random() AS r_side, random() AS r_left, random() AS r_strength, random() AS r_time WHERE g.i >= 0 AND k >= 0) r
      WHERE NOT g.fresh`,
    );
    await step(
      "staging: outcomes",
      `CREATE UNLOGGED TABLE scale_v AS
      SELECT j.*, g.gold, g.ma, g.mb, g.la, g.lb,
        ${id("ca", "j.i")} AS ida, ${id("cb", "j.i")} AS idb,
        (r_left < 0.5) AS a_left,
        CASE WHEN r_out < 0.08 THEN 'tie' WHEN r_out < 0.11 THEN 'both_bad'
             WHEN r_noise < 0.05 + 0.025 * (u % 11) THEN
               CASE WHEN (u % 7 = 0 AND r_side < 0.65) OR (u % 7 <> 0 AND r_side < 0.5)
                    THEN CASE WHEN r_left < 0.5 THEN 'a' ELSE 'b' END
                    ELSE CASE WHEN r_left < 0.5 THEN 'b' ELSE 'a' END END
             WHEN r_side < 1 / (1 + power(10, 0.15 * (g.mb - g.ma))) THEN 'a' ELSE 'b' END AS outcome,
        CASE WHEN r_strength < 0.3 THEN 2 ELSE 1 END AS strength
      FROM scale_j j JOIN scale_gen g USING (i)`,
    );
    // Per judged comparison: the top outcome and its count (a strict majority is 2 or 3 of 3),
    // the mean strength of its votes, every judgment id in (createdAt, id) order, the last time.
    await step(
      "staging: consensus",
      `CREATE UNLOGGED TABLE scale_agg AS
      SELECT o.i, o.outcome, o.cnt AS top, o.margin, t.ids, t.last FROM (
        SELECT DISTINCT ON (i) i, outcome, count(*) AS cnt, avg(strength)::float8 AS margin
        FROM scale_v GROUP BY i, outcome ORDER BY i, count(*) DESC) o
      JOIN (SELECT i, array_agg('ju' || lpad(i::text, 9, '0') || k ORDER BY at, k) AS ids, max(at) AS last
            FROM scale_v GROUP BY i) t USING (i)`,
    );
    await c.query(`CREATE UNIQUE INDEX ON scale_agg (i)`);
    await step(
      "comparisons",
      `INSERT INTO "Comparison" (id, "projectId", "promptId", "completionIds", "contentHash", status, "isGold", "goldAnswer", "judgmentCount", agreement, "createdAt", "completedAt")
      SELECT ${id("cm")}, $1, ${id("pr")}, ARRAY[${id("ca")}, ${id("cb")}], md5('comparison' || g.i),
        (CASE WHEN g.fresh OR g.gold THEN 'open' WHEN a.top >= 2 THEN 'complete' ELSE 'review' END)::"ComparisonStatus",
        g.gold,
        CASE WHEN g.gold THEN json_build_object('kind', 'pairwise', 'outcome', 'win',
          'winnerId', CASE WHEN g.ma >= g.mb THEN ${id("ca")} ELSE ${id("cb")} END,
          'loserId', CASE WHEN g.ma >= g.mb THEN ${id("cb")} ELSE ${id("ca")} END, 'strength', 1)::jsonb END,
        CASE WHEN g.fresh THEN 0 ELSE 3 END,
        CASE WHEN g.fresh THEN NULL ELSE a.top / 3.0 END,
        g.created,
        CASE WHEN NOT g.fresh AND NOT g.gold AND a.top >= 2 THEN a.last END
      FROM scale_gen g LEFT JOIN scale_agg a ON a.i = g.i`,
      [PROJECT_ID],
    );
    const verdict = `CASE v.outcome
        WHEN 'a' THEN json_build_object('kind', 'pairwise', 'outcome', 'win', 'winnerId', v.ida, 'loserId', v.idb, 'strength', v.strength)
        WHEN 'b' THEN json_build_object('kind', 'pairwise', 'outcome', 'win', 'winnerId', v.idb, 'loserId', v.ida, 'strength', v.strength)
        ELSE json_build_object('kind', 'pairwise', 'outcome', v.outcome) END::jsonb`;
    const user = `'scale-user-' || lpad(v.u::text, 2, '0')`;
    await step(
      "assignments",
      `INSERT INTO "Assignment" (id, "projectId", "comparisonId", "userId", "displayOrder", status, "leasedAt", "heartbeatAt", "expiresAt", "endedAt")
      SELECT 'as' || lpad(v.i::text, 9, '0') || v.k, $1, ${id("cm", "v.i")}, ${user},
        CASE WHEN v.a_left THEN ARRAY[v.ida, v.idb] ELSE ARRAY[v.idb, v.ida] END,
        'submitted', v.at - v.ms * interval '1 millisecond', v.at, v.at + interval '10 minutes', v.at
      FROM scale_v v`,
      [PROJECT_ID],
    );
    await step(
      "judgments",
      `INSERT INTO "Judgment" (id, "idempotencyKey", "projectId", "comparisonId", source, "userId", "assignmentId", verdict, "displayOrder", "timeSpentMs", "isGoldCheck", "goldCorrect", "createdAt")
      SELECT 'ju' || lpad(v.i::text, 9, '0') || v.k, 'key-' || v.i || '-' || v.k, $1, ${id("cm", "v.i")}, 'human', ${user},
        'as' || lpad(v.i::text, 9, '0') || v.k, ${verdict},
        CASE WHEN v.a_left THEN ARRAY[v.ida, v.idb] ELSE ARRAY[v.idb, v.ida] END,
        v.ms, v.gold,
        CASE WHEN v.gold THEN v.outcome = CASE WHEN v.ma >= v.mb THEN 'a' ELSE 'b' END END,
        v.at
      FROM scale_v v`,
      [PROJECT_ID],
    );
    // Pairs: a strict majority (2 or 3 of 3) for a winner; margin = mean strength of the agreeing
    // votes; judgmentIds = every counted judgment, in (createdAt, id) order, as aggregate() lists them.
    await step(
      "preference pairs",
      `INSERT INTO "PreferencePair" (id, "projectId", "comparisonId", "promptId", "chosenId", "rejectedId", margin, weight, agreement, "judgmentIds", origin, "createdAt")
      SELECT 'pp' || lpad(a.i::text, 9, '0'), $1, ${id("cm", "a.i")}, ${id("pr", "a.i")},
        CASE WHEN a.outcome = 'a' THEN ${id("ca", "a.i")} ELSE ${id("cb", "a.i")} END,
        CASE WHEN a.outcome = 'a' THEN ${id("cb", "a.i")} ELSE ${id("ca", "a.i")} END,
        a.margin, 1, a.top / 3.0, a.ids, 'human', a.last
      FROM scale_agg a JOIN scale_gen g USING (i)
      WHERE NOT g.gold AND a.outcome IN ('a', 'b') AND a.top >= 2`,
      [PROJECT_ID],
    );
    await step("drop staging", `DROP TABLE scale_agg, scale_v, scale_j, scale_gen`);
    // Written around recordJudgment, like a bulk import: the dashboard rollups count these
    // comparisons on first read (server/annotation/rollups.ts), when the schema has them.
    await step(
      "mark for the rollups",
      `DO $$ BEGIN
        IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'Comparison' AND column_name = 'rolledUp') THEN
          UPDATE "Comparison" SET "rolledUp" = false, "rolledIds" = '{}' WHERE "judgmentCount" > 0;
        END IF;
      END $$`,
    );
    await c.query(`SET session_replication_role = origin`);
    await step("counters", `SELECT pw_recount_counters($1)`, [PROJECT_ID]);
    await step("vacuum analyze", `VACUUM ANALYZE`);
    const [{ j }] = (await c.query(`SELECT count(*)::int AS j FROM "Judgment"`)).rows as [{ j: number }];
    return { comparisons: n, judgments: j, seconds: (Date.now() - t0) / 1000 };
  } finally {
    await c.end();
  }
}
