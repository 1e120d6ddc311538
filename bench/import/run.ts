// Benchmark: streaming import and export of N preference rows (TRL {prompt, chosen, rejected}),
// against PostgreSQL (a scratch database on --pg-url's server) and against the embedded database
// (PGlite served over the wire protocol, as `npm start` runs it), with a plain COPY of the very
// same rows in the same run as the physical-limit reference.
//
//   npm run bench -- import                 # 1,000,000 rows, both targets
//   npm run bench -- import --rows 100000   # a quick run
//   options: --rows N  --embedded-rows N  --targets postgres,embedded  --pg-url URL
//            --batch-size N  --writers N  --keep (leave the scratch database and files)
//
// Each import and export runs in its own child process, so its peak memory (max RSS) is its own.
// Reference: the rows the import wrote (Prompt, Completion, Comparison, Judgment, PreferencePair)
// are dumped, then COPYed into empty tables with the same columns and indexes (no foreign keys):
// what the database needs at least to store them. The export's reference is COPY ... TO of the
// same joined rows. Results: bench/results/import.json and import.md.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFile } from "node:child_process";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";

const ROOT = path.resolve(import.meta.dirname, "../..");
const RESULTS = path.join(ROOT, "bench/results");
const TABLES = ["Prompt", "Completion", "Comparison", "Judgment", "PreferencePair"] as const;

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    "embedded-rows": { type: "string" },
    targets: { type: "string", default: "postgres,embedded" },
    "pg-url": { type: "string", default: "postgresql://postgres@127.0.0.1:5432/postgres" },
    "batch-size": { type: "string", default: "2000" },
    writers: { type: "string" },
    keep: { type: "boolean", default: false },
    child: { type: "string" },
    url: { type: "string" },
    file: { type: "string" },
    project: { type: "string" },
    out: { type: "string" },
  },
  strict: true,
});

// ---------------------------------------------------------------------------------------------
// Child processes: one measured operation each, printing one JSON line.
if (args.child) {
  const t0 = performance.now();
  let result: Record<string, unknown>;
  if (args.child === "import") {
    const { importFile } = await import("@/server/data/import");
    const r = await importFile(args.file!, {
      project: args.project!,
      url: args.url!,
      batchSize: Number(args["batch-size"]),
      writers: args.writers ? Number(args.writers) : undefined,
      maxTextChars: 200_000,
    });
    if (r.status !== "succeeded") throw new Error(`import failed: ${r.error}`);
    result = {
      rows: r.report.valid,
      invalid: r.report.invalid,
      duplicates: r.report.duplicates,
      added: r.report.added,
      summary: r.report.summary,
    };
  } else if (args.child === "export") {
    const { writeExport } = await import("@/server/data/export");
    const out = fs.createWriteStream(args.out!);
    const r = await writeExport({ project: args.project!, format: "trl" }, out, { url: args.url! });
    await new Promise<void>((resolve) => out.end(resolve));
    result = { rows: r.lines, bytes: r.bytes };
  } else throw new Error(`unknown child ${args.child}`);
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ ...result, seconds, peakRssMB: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
const rows = Number(args.rows);
const embeddedRows = Number(args["embedded-rows"] ?? args.rows);
const targets = args.targets.split(",").map((s) => s.trim());
const tmp = path.join(os.tmpdir(), "pairwise-bench-import");
fs.mkdirSync(tmp, { recursive: true });
fs.mkdirSync(RESULTS, { recursive: true });
const log = (m: string) => console.error(`[bench import] ${m}`);

/** Deterministic TRL rows: a short question, a ~30-word chosen and a ~25-word rejected answer. */
async function generate(n: number): Promise<string> {
  const file = path.join(tmp, `trl-${n}.jsonl`);
  if (fs.existsSync(file) && fs.existsSync(`${file}.done`)) return file;
  log(`writing ${n.toLocaleString("en")} rows to ${file}`);
  const words =
    "the a model answer reward policy human feedback prefer better worse explain why because data train token loss gradient step batch learn rate value sample output input chat helpful honest harmless".split(
      " ",
    );
  let seed = 1;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const sentence = (k: number) =>
    Array.from({ length: k }, () => words[Math.floor(rnd() * words.length)]).join(" ");
  const out = fs.createWriteStream(file);
  let buf = "";
  for (let i = 0; i < n; i++) {
    buf +=
      JSON.stringify({
        prompt: `Question ${i}: ${sentence(10)}?`,
        chosen: `${sentence(30)} (${i}a)`,
        rejected: `${sentence(25)} (${i}b)`,
      }) + "\n";
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((r) => out.once("drain", () => r()));
      buf = "";
    }
  }
  await new Promise<void>((resolve) => out.end(buf, resolve));
  fs.writeFileSync(`${file}.done`, "");
  return file;
}

function child(
  kind: string,
  extra: string[],
): Promise<Record<string, number & unknown> & { seconds: number; peakRssMB: number; rows: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(ROOT, "bench/import/run.ts"),
        "--child",
        kind,
        "--batch-size",
        args["batch-size"],
        ...(args.writers ? ["--writers", args.writers] : []),
        ...extra,
      ],
      { cwd: ROOT, maxBuffer: 1 << 24 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${kind} child failed: ${stderr || err.message}`));
        resolve(JSON.parse(stdout.trim().split("\n").pop()!));
      },
    );
  });
}

interface Target {
  name: string;
  url: string;
  /** COPY rows from a file into a table; COPY a query out to a file. */
  copyIn(table: string, file: string): Promise<void>;
  copyOut(sql: string, file: string): Promise<void>;
  memoryNote: string;
  close(): Promise<void>;
}

async function postgresTarget(): Promise<Target> {
  const name = `pw_bench_import_${process.pid}`;
  const admin = new pg.Client({ connectionString: args["pg-url"] });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(args["pg-url"]);
  u.pathname = `/${name}`;
  const url = u.toString();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const version = (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
  return {
    name: `PostgreSQL ${version}`,
    url,
    async copyIn(table, file) {
      await pipeline(fs.createReadStream(file), c.query(copyFrom(`COPY "${table}" FROM STDIN`)));
    },
    async copyOut(sql, file) {
      await pipeline(c.query(copyTo(`COPY (${sql}) TO STDOUT`)), fs.createWriteStream(file));
    },
    memoryNote: "separate server processes (not counted)",
    async close() {
      await c.end();
      if (!args.keep) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

async function embeddedTarget(): Promise<Target> {
  const { startEmbeddedDatabase } = await import("@/server/db/embedded");
  const dir = path.join(tmp, `embedded-${process.pid}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const e = await startEmbeddedDatabase({ dataDir: dir, port: 0 });
  // COPY FROM STDIN does not pass through the wire server: the reference uses PGlite's own
  // in-process COPY ('/dev/blob'), which is the embedded database's physical limit.
  return {
    name: `embedded (PGlite ${(await e.db.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v}, wire protocol)`,
    url: e.url,
    async copyIn(table, file) {
      await e.db.query(`COPY "${table}" FROM '/dev/blob'`, [], { blob: new Blob([fs.readFileSync(file)]) });
    },
    async copyOut(sql, file) {
      const r = await e.db.query(`COPY (${sql}) TO '/dev/blob'`);
      fs.writeFileSync(file, Buffer.from(await r.blob!.arrayBuffer()));
    },
    memoryNote: "in the bench's parent process",
    async close() {
      await e.stop();
      if (!args.keep) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const EXPORT_SQL = `SELECT pr.text, ch.text, rj.text, pp.margin, pp.weight, pp.agreement, ch."modelName", rj."modelName", pp."comparisonId", pp.id, pp."judgmentIds", pp.origin, pp."createdAt"
  FROM "PreferencePair" pp JOIN "Prompt" pr ON pr.id = pp."promptId" JOIN "Completion" ch ON ch.id = pp."chosenId" JOIN "Completion" rj ON rj.id = pp."rejectedId"
  WHERE pp.active ORDER BY pp."createdAt", pp.id`;

interface Result {
  target: string;
  rows: number;
  import: { seconds: number; rowsPerSec: number; peakRssMB: number };
  reimport: { seconds: number; rowsPerSec: number; duplicates: number; added: number };
  copyIn: { seconds: number; rowsPerSec: number; tableRows: number };
  export: { seconds: number; rowsPerSec: number; peakRssMB: number; bytes: number };
  copyOut: { seconds: number; rowsPerSec: number };
  importVsCopy: number;
  exportVsCopy: number;
  databaseMemory: string;
}

async function runTarget(make: () => Promise<Target>, n: number): Promise<Result> {
  const file = await generate(n);
  const t = await make();
  log(`${t.name}: migrating`);
  try {
    const { migrate } = await import("@/server/db/migrate");
    await migrate(t.url);
    const c = new pg.Client({ connectionString: t.url });
    await c.connect();
    await c.query(
      `INSERT INTO "Project" (id, slug, name, "labelSchema", "updatedAt") VALUES ('bench', 'bench', 'Bench', '{"kind": "pairwise"}', now())`,
    );

    log(`${t.name}: importing ${n.toLocaleString("en")} rows`);
    const imp = await child("import", ["--url", t.url, "--file", file, "--project", "bench"]);
    if (imp.rows !== n) throw new Error(`imported ${imp.rows} rows, expected ${n}`);
    log(`${t.name}: import ${imp.seconds.toFixed(1)} s; importing the same file again`);
    const again = await child("import", ["--url", t.url, "--file", file, "--project", "bench"]);
    const addedAgain = Object.values(again.added as unknown as Record<string, number>).reduce(
      (a, b) => a + b,
      0,
    );

    log(`${t.name}: exporting`);
    const outFile = path.join(tmp, `export-${process.pid}.jsonl`);
    const exp = await child("export", ["--url", t.url, "--project", "bench", "--out", outFile]);
    if (exp.rows !== n) throw new Error(`exported ${exp.rows} rows, expected ${n}`);

    log(`${t.name}: reference COPY of the same rows`);
    let tableRows = 0;
    const dumps: Array<[string, string]> = [];
    for (const table of TABLES) {
      const f = path.join(tmp, `${table}-${process.pid}.copy`);
      await t.copyOut(`SELECT * FROM "${table}"`, f);
      await c.query(`CREATE TABLE "ref_${table}" (LIKE "${table}" INCLUDING ALL)`);
      tableRows += Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`)).rows[0]!.n);
      dumps.push([table, f]);
    }
    await c.query("CHECKPOINT");
    const t0 = performance.now();
    for (const [table, f] of dumps) await t.copyIn(`ref_${table}`, f);
    const copySeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    await t.copyOut(EXPORT_SQL, path.join(tmp, `copyout-${process.pid}.tsv`));
    const copyOutSeconds = (performance.now() - t1) / 1000;
    for (const [, f] of dumps) fs.rmSync(f, { force: true });
    fs.rmSync(outFile, { force: true });
    fs.rmSync(path.join(tmp, `copyout-${process.pid}.tsv`), { force: true });
    await c.end();
    return {
      target: t.name,
      rows: n,
      import: { seconds: imp.seconds, rowsPerSec: n / imp.seconds, peakRssMB: imp.peakRssMB },
      reimport: {
        seconds: again.seconds,
        rowsPerSec: n / again.seconds,
        duplicates: again.duplicates as unknown as number,
        added: addedAgain,
      },
      copyIn: { seconds: copySeconds, rowsPerSec: n / copySeconds, tableRows },
      export: {
        seconds: exp.seconds,
        rowsPerSec: n / exp.seconds,
        peakRssMB: exp.peakRssMB,
        bytes: exp.bytes as unknown as number,
      },
      copyOut: { seconds: copyOutSeconds, rowsPerSec: n / copyOutSeconds },
      importVsCopy: imp.seconds / copySeconds,
      exportVsCopy: exp.seconds / copyOutSeconds,
      databaseMemory: t.memoryNote,
    };
  } finally {
    await t.close();
  }
}

const fmt = (x: number) => Math.round(x).toLocaleString("en");
const results: Result[] = [];
for (const target of targets) {
  if (target === "postgres") results.push(await runTarget(postgresTarget, rows));
  else if (target === "embedded") results.push(await runTarget(embeddedTarget, embeddedRows));
  else throw new Error(`unknown target ${target}: use postgres and/or embedded`);
}

const md = [
  `### Import / export benchmark (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(1)})`,
  "",
  "Each row: a TRL preference {prompt, chosen, rejected} -> 1 prompt, 2 completions, 1 comparison, 1 judgment, 1 pair. Reference: plain COPY of the same rows into tables with the same indexes (no foreign keys) / COPY TO of the same joined rows.",
  "",
  "| target | rows | import s | import rows/s | COPY-in s | import ÷ COPY | re-import rows/s (adds) | import peak RSS MB | export s | export rows/s | COPY-out s | export ÷ COPY | export peak RSS MB |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...results.map(
    (r) =>
      `| ${r.target} | ${fmt(r.rows)} | ${r.import.seconds.toFixed(1)} | ${fmt(r.import.rowsPerSec)} | ${r.copyIn.seconds.toFixed(1)} | ${r.importVsCopy.toFixed(2)}× | ${fmt(r.reimport.rowsPerSec)} (${r.reimport.added}) | ${fmt(r.import.peakRssMB)} | ${r.export.seconds.toFixed(1)} | ${fmt(r.export.rowsPerSec)} | ${r.copyOut.seconds.toFixed(1)} | ${r.exportVsCopy.toFixed(2)}× | ${fmt(r.export.peakRssMB)} |`,
  ),
  "",
].join("\n");
fs.writeFileSync(
  path.join(RESULTS, "import.json"),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      cpus: os.cpus().length,
      loadavg: os.loadavg(),
      batchSize: Number(args["batch-size"]),
      writers: args.writers ? Number(args.writers) : "default (2 on PostgreSQL, 1 embedded)",
      results,
    },
    null,
    2,
  ),
);
fs.writeFileSync(path.join(RESULTS, "import.md"), md);
console.log(md);
