// Pairwise at scale: every page's data function and the annotation hot path, timed at 10k, 100k
// and 1M comparisons (~30k, ~300k, ~3M judgments) on PostgreSQL.
//
//   npm run bench -- scale [--sizes 10000,100000,1000000] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
//        [--reuse] [--keep] [--hot 300] [--repeat 3]
//
// Per size, a database pairwise_scale_<label> is created, migrated and filled with SQL
// (generate.ts): one project, 50 annotators, 8 models, overlap 3, 5% gold. --reuse keeps a
// database of that name filled by an earlier run (the migrations of this tree are applied to it,
// timed, which is how an existing deployment upgrades); --keep leaves it behind (default: dropped).
// Before measuring, a sample of 200 comparisons is re-aggregated with the app's own code
// (recomputeComparison): the SQL-made status, counts, agreement and pairs must come out unchanged.
//
// Measured in a child process per size (so one size's memory does not count for the next), with
// the app's own functions called directly, as the tRPC procedures call them:
//  - every admin and annotator page's data function: first call and the median of --repeat more,
//    with the process's peak RSS after it;
//  - the annotation hot path with gold (ratio 0.05) and the weighted consensus rule on: --hot
//    lease + submit cycles, round-robin over the 50 annotators, through node-postgres as the web
//    process runs them: median, p99 and max of each;
//  - EXPLAIN (ANALYZE, BUFFERS) of the main queries.
// Writes bench/results/scale.json and bench/results/scale.md (with the machine's load average).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import pg from "pg";

const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000,1000000" },
    pg: { type: "string", default: "postgresql://postgres@127.0.0.1:5432/postgres" },
    reuse: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    hot: { type: "string", default: "300" },
    repeat: { type: "string", default: "3" },
    out: { type: "string", default: "bench/results" },
    child: { type: "string" },
    label: { type: "string" },
    "result-file": { type: "string" },
  },
});

const label = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}m` : n >= 1000 ? `${n / 1000}k` : `${n}`);
const dbUrl = (base: string, name: string) => {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
};

export interface PageTiming {
  name: string;
  firstMs: number;
  medianMs: number;
  peakRssMb: number;
  error?: string;
}

export interface SizeResult {
  comparisons: number;
  judgments: number;
  database: string;
  generateSeconds: number | null;
  migrateSeconds: number;
  sampleCheck: { checked: number; unchanged: number };
  /** One-time bringUpToDate of the dashboard rollups over data that predates them. */
  rollupSeconds?: number;
  pages: PageTiming[];
  hot: {
    cycles: number;
    lease: { medianMs: number; p99Ms: number; maxMs: number };
    submit: { medianMs: number; p99Ms: number; maxMs: number };
    goldLeases: number;
  } | null;
  explain: Array<{ name: string; plan: string }>;
  peakRssMb: number;
  loadAverage: number[];
}

async function exists(base: string, name: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  try {
    const r = await c.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name]);
    return r.rowCount === 1;
  } finally {
    await c.end();
  }
}

async function admin(base: string, sql: string) {
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function parent() {
  const sizes = args.sizes.split(",").map(Number);
  const results: SizeResult[] = [];
  fs.mkdirSync(args.out, { recursive: true });
  for (const n of sizes) {
    const name = `pairwise_scale_${label(n)}`;
    const url = dbUrl(args.pg, name);
    const reuse = args.reuse && (await exists(args.pg, name));
    let generateSeconds: number | null = null;
    const { migrate } = await import("../../server/db/migrate");
    if (!reuse) {
      await admin(args.pg, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin(args.pg, `CREATE DATABASE ${name}`);
      const { generate } = await import("./generate");
      console.log(`${label(n)}: generating ${n} comparisons into ${name}`);
      await migrate(url);
      generateSeconds = (await generate(url, n)).seconds;
    }
    const t = Date.now();
    await migrate(url);
    const migrateSeconds = (Date.now() - t) / 1000;
    console.log(`${label(n)}: migrated in ${migrateSeconds.toFixed(1)} s; measuring`);
    const resultFile = path.join(os.tmpdir(), `pairwise-scale-${process.pid}-${label(n)}.json`);
    const r = spawnSync(
      process.execPath,
      [
        "--conditions=react-server",
        "--import",
        "tsx",
        "--expose-gc",
        import.meta.filename,
        "--child",
        url,
        "--label",
        label(n),
        "--result-file",
        resultFile,
        "--hot",
        args.hot,
        "--repeat",
        args.repeat,
      ],
      { stdio: "inherit" },
    );
    let partial: Partial<SizeResult> = {};
    try {
      partial = JSON.parse(fs.readFileSync(resultFile, "utf8")) as Partial<SizeResult>;
      fs.rmSync(resultFile);
    } catch {
      console.error(`${label(n)}: the measuring process wrote no result (exit ${r.status})`);
    }
    results.push({
      comparisons: n,
      judgments: partial.judgments ?? 0,
      database: name,
      generateSeconds,
      migrateSeconds,
      sampleCheck: partial.sampleCheck ?? { checked: 0, unchanged: 0 },
      rollupSeconds: partial.rollupSeconds,
      pages: partial.pages ?? [],
      hot: partial.hot ?? null,
      explain: partial.explain ?? [],
      peakRssMb: partial.peakRssMb ?? 0,
      loadAverage: partial.loadAverage ?? os.loadavg(),
    });
    if (!args.keep) await admin(args.pg, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    writeResults(results);
  }
}

function writeResults(results: SizeResult[]) {
  const at = new Date().toISOString();
  const json = { at, host: { cpus: os.cpus().length, memGb: Math.round(os.totalmem() / 2 ** 30) }, results };
  fs.writeFileSync(path.join(args.out, "scale.json"), JSON.stringify(json, null, 2));
  const names = [...new Set(results.flatMap((r) => r.pages.map((p) => p.name)))];
  const head = `| operation | ${results.map((r) => `${label(r.comparisons)} comparisons (${r.judgments.toLocaleString("en")} judgments)`).join(" | ")} |`;
  const sep = `| --- | ${results.map(() => "---").join(" | ")} |`;
  const cell = (p: PageTiming | undefined) =>
    !p ? "" : p.error ? `error: ${p.error.slice(0, 60)}` : `${fmt(p.medianMs)} (first ${fmt(p.firstMs)})`;
  const rows = names.map(
    (name) => `| ${name} | ${results.map((r) => cell(r.pages.find((p) => p.name === name))).join(" | ")} |`,
  );
  const hot = (k: "lease" | "submit") =>
    `| ${k} median / p99 / max (gold 5%, weighted consensus) | ${results
      .map((r) =>
        r.hot ? `${fmt(r.hot[k].medianMs)} / ${fmt(r.hot[k].p99Ms)} / ${fmt(r.hot[k].maxMs)}` : "",
      )
      .join(" | ")} |`;
  const rss = `| peak RSS of the measuring process | ${results.map((r) => `${r.peakRssMb} MB`).join(" | ")} |`;
  const check = `| sample re-aggregated by the app, unchanged | ${results.map((r) => `${r.sampleCheck.unchanged}/${r.sampleCheck.checked}`).join(" | ")} |`;
  const mig = `| migrations applied to the data (s) | ${results.map((r) => r.migrateSeconds.toFixed(1)).join(" | ")} |`;
  const roll = `| one-time rollup of pre-existing data (s) | ${results.map((r) => (r.rollupSeconds ?? 0).toFixed(1)).join(" | ")} |`;
  const load = `| load average while measuring (1/5/15 min) | ${results.map((r) => r.loadAverage.map((x) => x.toFixed(1)).join(" / ")).join(" | ")} |`;
  const explain = results
    .map(
      (r) =>
        `### EXPLAIN at ${label(r.comparisons)}\n\n` +
        r.explain.map((e) => `#### ${e.name}\n\n\`\`\`\n${e.plan}\n\`\`\`\n`).join("\n"),
    )
    .join("\n");
  const md = `# Scale benchmark (${at})\n\nTimes in ms: median of the repeated calls (first call in parentheses).\n\n${head}\n${sep}\n${rows.join("\n")}\n${hot("lease")}\n${hot("submit")}\n${rss}\n${check}\n${mig}\n${roll}\n${load}\n\n${explain}`;
  fs.writeFileSync(path.join(args.out, "scale.md"), md);
  console.log(
    `${head}\n${sep}\n${rows.join("\n")}\n${hot("lease")}\n${hot("submit")}\n${rss}\n${check}\n${load}`,
  );
}

const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return 0;
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const rssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

async function child(url: string) {
  const { createPrisma } = await import("../../server/db/client");
  const { createPgPool, pgSql } = await import("../../server/db/sql");
  const { PROJECT_ID, ANNOTATORS } = await import("./generate");
  const prisma = createPrisma(url, { max: 5 });
  const pool = createPgPool(url, { max: 5, applicationName: "pairwise-scale" });
  const sql = pgSql(pool);
  const out: Partial<SizeResult> = { pages: [], explain: [] };
  const save = () => {
    out.peakRssMb = rssMb();
    out.loadAverage = os.loadavg();
    fs.writeFileSync(args["result-file"]!, JSON.stringify(out));
  };
  try {
    const [{ n }] = (await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Judgment"`)) as [
      { n: number },
    ];
    out.judgments = n;

    // The SQL-made data against the app's own aggregation, on a sample.
    const { recomputeComparison } = await import("../../server/data/judgments");
    const sample = await sql.query<{
      id: string;
      status: string;
      judgmentCount: number;
      agreement: number | null;
    }>(
      `SELECT id, status::text AS status, "judgmentCount", agreement FROM "Comparison" TABLESAMPLE BERNOULLI (5) REPEATABLE (7)
       WHERE "projectId" = $1 AND "judgmentCount" > 0 LIMIT 200`,
      [PROJECT_ID],
    );
    let unchanged = 0;
    for (const c of sample) {
      const r = await recomputeComparison(sql, c.id);
      const same =
        r.pairsAdded === 0 &&
        r.pairsRetired === 0 &&
        r.status === c.status &&
        r.judgmentCount === c.judgmentCount &&
        (r.agreement === null ? c.agreement === null : Math.abs(r.agreement - (c.agreement ?? NaN)) < 1e-9);
      if (same) unchanged++;
      else console.error(`sample ${c.id}: app says ${JSON.stringify(r)}, data has ${JSON.stringify(c)}`);
    }
    out.sampleCheck = { checked: sample.length, unchanged };
    save();

    // One-time: rollups for data that predates them (here: all of the SQL-made data).
    const { bringUpToDate } = await import("../../server/annotation/rollups");
    let t0 = performance.now();
    const rolled = await bringUpToDate(sql, PROJECT_ID, {
      onProgress: (done) =>
        done % 100_000 < 2000 && console.log(`  ${args.label}: rollups: ${done} comparisons`),
    });
    out.rollupSeconds = (performance.now() - t0) / 1000;
    console.log(
      `  ${args.label}: rollups brought up to date for ${rolled} comparisons in ${out.rollupSeconds.toFixed(1)} s`,
    );
    // Fold the rollup's deltas in before VACUUM, so the first page does not fold them (and leave
    // them dead in StatDelta for the pages after it).
    await sql.query(`SELECT 1 AS ok FROM pw_stat_compact($1::text)`, [PROJECT_ID]);
    t0 = performance.now();
    await sql.query(`VACUUM ANALYZE`);
    console.log(`  ${args.label}: vacuum analyze ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    save();

    const user = (k: number) => `scale-user-${String(k % ANNOTATORS).padStart(2, "0")}`;
    const dashboard = await import("../../server/annotation/dashboard");
    const progress = await import("../../server/annotation/progress");
    const queue = await import("../../server/annotation/queue");
    const people = await import("../../server/annotation/people");
    const review = await import("../../server/annotation/review");
    const dataAdmin = await import("../../server/annotation/data-admin");
    const projects = await import("../../server/projects/projects");
    const pages: Array<[string, () => Promise<unknown>]> = [
      ["admin: project list (listProjects)", () => projects.listProjects(prisma, {})],
      ["admin: project summaries (projectSummaries)", () => dashboard.projectSummaries(prisma)],
      ["admin: project (getProject)", () => projects.getProject(prisma, PROJECT_ID)],
      ["admin: dashboard (projectDashboard)", () => dashboard.projectDashboard(prisma, PROJECT_ID)],
      ["admin: leaderboard, human", () => dashboard.leaderboard(prisma, PROJECT_ID, { origin: "human" })],
      ["admin: leaderboard, all", () => dashboard.leaderboard(prisma, PROJECT_ID, { origin: "all" })],
      ["admin: people (listPeople)", () => people.listPeople(prisma)],
      ["admin: review queue (reviewQueue)", () => review.reviewQueue(prisma, { projectId: PROJECT_ID })],
      [
        "admin: export estimate, pairs",
        () => dataAdmin.exportEstimate(prisma, { project: PROJECT_ID, format: "trl" }),
      ],
      ["annotator: projects (listAnnotatorProjects)", () => queue.listAnnotatorProjects(prisma, user(3))],
      ["annotator: project (annotatorProject)", () => queue.annotatorProject(prisma, PROJECT_ID)],
      [
        "annotator: progress in the project (myProgress)",
        () => progress.myProgress(prisma, { userId: user(5), projectId: PROJECT_ID }),
      ],
      ["annotator: progress overall (myProgress)", () => progress.myProgress(prisma, { userId: user(6) })],
    ];
    const repeat = Number(args.repeat);
    for (const [name, fn] of pages) {
      const timing: PageTiming = { name, firstMs: 0, medianMs: 0, peakRssMb: 0 };
      try {
        let t = performance.now();
        await fn();
        timing.firstMs = performance.now() - t;
        const times: number[] = [];
        for (let i = 0; i < repeat; i++) {
          t = performance.now();
          await fn();
          times.push(performance.now() - t);
        }
        timing.medianMs = quantile(times, 0.5);
      } catch (e) {
        timing.error = e instanceof Error ? e.message : String(e);
      }
      timing.peakRssMb = rssMb();
      out.pages!.push(timing);
      console.log(
        `  ${args.label}: ${name}: ${timing.error ?? `${fmt(timing.medianMs)} ms (first ${fmt(timing.firstMs)})`}, RSS ${timing.peakRssMb} MB`,
      );
      save();
    }

    // A snapshot of every pair: the request answers at once (a job); the job's own time after.
    {
      const { startSnapshot, getSnapshot } = await import("../../server/data/snapshots");
      const t1 = performance.now();
      const s = await startSnapshot(prisma, PROJECT_ID, {}, { waitMs: 0 });
      const requestMs = performance.now() - t1;
      let state = s;
      while (state.status === "building") {
        await new Promise((r) => setTimeout(r, 250));
        state = await getSnapshot(prisma, s.id);
      }
      const jobMs = performance.now() - t1;
      out.pages!.push({
        name: "admin: snapshot request (POST /snapshots, a job)",
        firstMs: requestMs,
        medianMs: requestMs,
        peakRssMb: rssMb(),
      });
      out.pages!.push({
        name: `snapshot job, start to ${state.status} (${state.pairCount} pairs)`,
        firstMs: jobMs,
        medianMs: jobMs,
        peakRssMb: rssMb(),
        ...(state.status === "failed" ? { error: state.error ?? "failed" } : {}),
      });
      console.log(
        `  ${args.label}: snapshot request ${fmt(requestMs)} ms, job ${fmt(jobMs)} ms (${state.status})`,
      );
      save();
    }

    // The hot path: gold on, weighted consensus on.
    await sql.query(`UPDATE "Project" SET "goldRatio" = 0.05, "consensusRule" = 'weighted' WHERE id = $1`, [
      PROJECT_ID,
    ]);
    const { submitJudgment } = await import("../../server/annotation/submit");
    const leases: number[] = [];
    const submits: number[] = [];
    let gold = 0;
    const cycles = Number(args.hot);
    for (let i = 0; i < cycles + 20; i++) {
      const u = user(i);
      let t = performance.now();
      const r = await queue.leaseNext(sql, { projectId: PROJECT_ID, userId: u });
      const leaseMs = performance.now() - t;
      if (r.kind !== "assignment") throw new Error(`no item for ${u}: ${r.reason}`);
      const a = r.assignment;
      t = performance.now();
      await submitJudgment(sql, u, {
        assignmentId: a.assignmentId,
        idempotencyKey: `scale-hot-${process.pid}-${i}`,
        answer: { kind: "pairwise", choice: i % 5 === 0 ? "tie" : i % 2 ? "A" : "B", strength: 1 },
        timeSpentMs: 4000 + (i % 7) * 1000,
      });
      const submitMs = performance.now() - t;
      if (i < 20) continue; // warm-up: connections, plans, JIT
      leases.push(leaseMs);
      submits.push(submitMs);
      const [g] = await sql.query<{ isGold: boolean }>(`SELECT "isGold" FROM "Comparison" WHERE id = $1`, [
        a.comparisonId,
      ]);
      if (g?.isGold) gold++;
    }
    const stat = (xs: number[]) => ({
      medianMs: quantile(xs, 0.5),
      p99Ms: quantile(xs, 0.99),
      maxMs: Math.max(...xs),
    });
    out.hot = { cycles, lease: stat(leases), submit: stat(submits), goldLeases: gold };
    console.log(
      `  ${args.label}: lease ${JSON.stringify(out.hot.lease)}, submit ${JSON.stringify(out.hot.submit)}, gold ${gold}`,
    );
    save();

    // EXPLAIN of the main queries.
    const explains: Array<[string, string, unknown[]]> = [
      [
        "lease: the queue query (non-gold)",
        `SELECT c.id FROM "Comparison" c WHERE c."projectId" = $1 AND c.status = 'open' AND c."isGold" = false
           AND c."judgmentCount" + c."leaseCount" < 3
           AND NOT EXISTS (SELECT 1 FROM "Assignment" x WHERE x."comparisonId" = c.id AND x."userId" = $2)
         ORDER BY c.priority DESC, c."createdAt" ASC, c.id ASC LIMIT 1 FOR UPDATE OF c SKIP LOCKED`,
        [PROJECT_ID, user(1)],
      ],
      [
        "lease: the queue query (gold)",
        `SELECT c.id FROM "Comparison" c WHERE c."projectId" = $1 AND c.status = 'open' AND c."isGold" = true
           AND NOT EXISTS (SELECT 1 FROM "Assignment" x WHERE x."comparisonId" = c.id AND x."userId" = $2)
         ORDER BY c.priority DESC, c."createdAt" ASC, c.id ASC LIMIT 1 FOR UPDATE OF c SKIP LOCKED`,
        [PROJECT_ID, user(1)],
      ],
    ];
    for (const [name, q, params] of explains) {
      try {
        const rows = await sql.query<{ "QUERY PLAN": string }>(`EXPLAIN (ANALYZE, BUFFERS) ${q}`, params);
        out.explain!.push({ name, plan: rows.map((r) => r["QUERY PLAN"]).join("\n") });
      } catch (e) {
        out.explain!.push({ name, plan: `failed: ${e instanceof Error ? e.message : String(e)}` });
      }
    }
    save();
  } finally {
    save();
    await prisma.$disconnect();
    await pool.end();
  }
}

if (args.child) await child(args.child);
else await parent();
