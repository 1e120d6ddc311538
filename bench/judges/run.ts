// AI-judge throughput and Pairwise's own overhead per judgment.
//
//  1. Throughput against `pairwise serve` (a separate process, started with the real CLI) serving
//     the tiny preset taught to answer judge prompts with a verdict: comparisons per minute at
//     judge concurrency 1, 2, 4, 8, position swap on (2 requests per comparison), MT-Bench rubric.
//  2. Reference in the same run: an instant fake endpoint (answers "[[A]]" at once). Its time per
//     judgment is Pairwise's own cost — HTTP client, rubric rendering, verdict parsing, attempts,
//     the judgment write with aggregation, counters — excluding model time.
// Each configuration is a fresh judge over the same comparisons (so none is skipped as judged).
// Writes bench/results/judges-<db>.json and .md.
//
//   npm run bench -- judges [--db embedded,postgres] [--comparisons 48] [--concurrency 1,2,4,8]
//        [--fake-comparisons 200] [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--train-steps 30]
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { AddressInfo } from "node:net";

const { values: args } = parseArgs({
  options: {
    db: { type: "string", default: "embedded,postgres" },
    comparisons: { type: "string", default: "48" },
    "fake-comparisons": { type: "string", default: "200" },
    concurrency: { type: "string", default: "1,2,4,8" },
    pg: { type: "string", default: "postgresql://postgres@127.0.0.1:5432/postgres" },
    "train-steps": { type: "string", default: "30" },
    out: { type: "string", default: "bench/results" },
  },
});
const ROOT = path.resolve(import.meta.dirname, "../..");
const N = Number(args.comparisons);
const N_FAKE = Number(args["fake-comparisons"]);
const LEVELS = (args.concurrency as string).split(",").map(Number);
const MAX_TOKENS = 8;

const { createTestDatabase } = await import("../../tests/helpers/db");
const { resetEnvForTests } = await import("../../server/env");
const { createJudgeConfig, rubricOf } = await import("../../server/judges/config");
const { createJudgeRun, getJudgeRun } = await import("../../server/judges/runs");
const { executeJudgeRun } = await import("../../server/judges/runner");
const { renderRubric } = await import("../../server/judges/rubrics");
const { fitPrompt } = await import("../../server/serve/fit");
const { completionHash, comparisonHash, promptHash } = await import("../../server/data/hash");
const { percentile } = await import("../../server/stats");
const trainer = await import("../../trainer/index.js");

process.env.PAIRWISE_ENCRYPTION_KEY ??= "bench-encryption-key-0123456789abcdefghij";
resetEnvForTests();

/** The tiny preset taught to end judge replies with "[[A]]"; trained once and cached (~2 min on 2 CPU cores). */
async function judgeModel(): Promise<string> {
  const dir = path.join(os.tmpdir(), `pairwise-bench-judge-tiny-s${args["train-steps"]}`);
  if (fs.existsSync(path.join(dir, "model.safetensors"))) return dir;
  await trainer.selectBackend({ log: () => {} });
  console.log(
    `training the bench judge model (tiny preset, ${args["train-steps"]} SFT steps; cached in ${dir})...`,
  );
  const tok = trainer.BpeTokenizer.train(
    trainer.miniR1.corpus(trainer.miniR1.makeProblems(0, 400, { difficulty: 2 })),
    trainer.PRESETS.tiny.vocabSize,
  );
  const model = trainer.createPolicy({ ...trainer.PRESETS.tiny, vocabSize: tok.vocabSize }, 1);
  const rubric = rubricOf({ rubric: null, settings: {} });
  const ctx = trainer.PRESETS.tiny.contextLength;
  const data = Array.from({ length: 32 }, (_, i) => ({
    prompt: fitPrompt(
      tok,
      renderRubric(rubric, {
        question: `Question ${i}: what is ${i} + ${i}?`,
        answer_a: `answer ${i * 7}`,
        answer_b: `another answer ${i * 3}`,
      }).messages,
      ctx - MAX_TOKENS,
    ).prompt,
    completion: "[[A]]",
  }));
  const t0 = Date.now();
  await trainer.trainSFT({
    model,
    tokenizer: tok,
    data,
    config: { steps: Number(args["train-steps"]), lr: 3e-3, batchSize: 8, seed: 1 },
  });
  await trainer.saveCheckpoint(dir, { model, tokenizer: tok, meta: { name: "bench-judge" } });
  trainer.disposeModel(model);
  console.log(`trained in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return dir;
}

/** `pairwise serve` as its own process, like `npm start` runs it. */
async function startServe(checkpoint: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, "bin/pairwise.mjs"),
      "serve",
      "--port",
      "0",
      "--no-db",
      "--no-default",
      "--checkpoint",
      checkpoint,
    ],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PAIRWISE_DATA_DIR: path.join(os.tmpdir(), "pairwise-bench-serve") },
    },
  );
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /serving on (\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.once("exit", (code) => reject(new Error(`pairwise serve exited (${code}): ${err.slice(-2000)}`)));
  });
  return { url, child };
}

/** An endpoint that answers at once: the reference for Pairwise's own cost. */
async function startInstant(): Promise<{ url: string; close: () => Promise<void> }> {
  const body = JSON.stringify({
    id: "x",
    object: "chat.completion",
    created: 0,
    model: "instant",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: "Both are fine; the first is slightly better. [[A]]" },
        finish_reason: "stop",
        logprobs: null,
      },
    ],
    usage: { prompt_tokens: 300, completion_tokens: 12, total_tokens: 312 },
  });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function seedProject(prisma: import("@prisma/client").PrismaClient, n: number): Promise<string> {
  const slug = `bench-judges-${Date.now()}-${n}`;
  const p = await prisma.project.create({ data: { slug, name: slug, labelSchema: { kind: "pairwise" } } });
  for (let i = 0; i < n; i++) {
    const text = `Ana has ${i + 3} apples and buys ${(i % 7) + 1} more. How many apples does she have now?`;
    const ph = promptHash({ text });
    const prompt = await prisma.prompt.create({ data: { projectId: p.id, contentHash: ph, text } });
    const a = `<think>${i + 3} + ${(i % 7) + 1} = ${i + 3 + (i % 7) + 1}</think>The answer is ${i + 3 + (i % 7) + 1}.`;
    const b = `The answer is ${i + 3 + (i % 7)}.`;
    const ca = await prisma.completion.create({
      data: { projectId: p.id, promptId: prompt.id, contentHash: completionHash(a), text: a },
    });
    const cb = await prisma.completion.create({
      data: { projectId: p.id, promptId: prompt.id, contentHash: completionHash(b), text: b },
    });
    await prisma.comparison.create({
      data: {
        projectId: p.id,
        promptId: prompt.id,
        completionIds: [ca.id, cb.id],
        contentHash: comparisonHash(ph, [ca.contentHash, cb.contentHash]),
      },
    });
  }
  return p.id;
}

interface Row {
  endpoint: "pairwise serve" | "instant fake";
  concurrency: number;
  comparisons: number;
  seconds: number;
  comparisonsPerMinute: number;
  msPerComparison: number;
  requests: number;
  judged: number;
  unparseable: number;
  failed: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
}

async function measure(
  prisma: import("@prisma/client").PrismaClient,
  projectId: string,
  endpoint: Row["endpoint"],
  baseUrl: string,
  model: string,
  concurrency: number,
): Promise<Row> {
  const cfg = await createJudgeConfig({
    projectId,
    name: `${endpoint} c=${concurrency} ${Date.now()}`,
    kind: "llm",
    baseUrl,
    model,
    concurrency,
    maxTokens: MAX_TOKENS,
    timeoutMs: 120_000,
  });
  const run = await createJudgeRun({ judgeConfigId: cfg.id, projectId });
  const t0 = performance.now();
  const result = await executeJudgeRun(run.id, { pollMs: 500 });
  const seconds = (performance.now() - t0) / 1000;
  const v = await getJudgeRun(run.id);
  if (result !== "finished") throw new Error(`run ended ${result}: ${v.error}`);
  const attempts = await prisma.judgeAttempt.findMany({
    where: { runId: run.id },
    select: { latencyMs: true },
  });
  const lat = attempts.map((a) => a.latencyMs ?? 0);
  const processed = v.done + v.failed + v.unparseable;
  return {
    endpoint,
    concurrency,
    comparisons: processed,
    seconds,
    comparisonsPerMinute: (processed / seconds) * 60,
    msPerComparison: (seconds * 1000) / processed,
    requests: attempts.length,
    judged: v.done,
    unparseable: v.unparseable,
    failed: v.failed,
    latencyP50Ms: lat.length ? percentile(lat, 50) : NaN,
    latencyP95Ms: lat.length ? percentile(lat, 95) : NaN,
  };
}

async function benchDb(
  mode: "embedded" | "postgres",
  serveUrl: string,
  instant: { url: string },
): Promise<{ mode: string; rows: Row[] }> {
  if (mode === "postgres") process.env.TEST_DATABASE_URL = args.pg;
  else delete process.env.TEST_DATABASE_URL;
  const t = await createTestDatabase();
  try {
    const rows: Row[] = [];
    const project = await seedProject(t.prisma, N);
    for (const c of LEVELS) {
      const r = await measure(t.prisma, project, "pairwise serve", serveUrl, path.basename(MODEL_DIR), c);
      rows.push(r);
      console.log(
        `[${mode}] serve    c=${c}: ${r.comparisonsPerMinute.toFixed(1)} comparisons/min (${r.judged} judged, ${r.unparseable} no verdict), request p50 ${r.latencyP50Ms} ms`,
      );
    }
    const fakeProject = await seedProject(t.prisma, N_FAKE);
    for (const c of [1, Math.max(...LEVELS)]) {
      const r = await measure(t.prisma, fakeProject, "instant fake", instant.url, "instant", c);
      rows.push(r);
      console.log(
        `[${mode}] instant  c=${c}: ${r.msPerComparison.toFixed(2)} ms per comparison (${(r.msPerComparison / 2).toFixed(2)} ms per call), ${r.comparisonsPerMinute.toFixed(0)} comparisons/min`,
      );
    }
    return { mode: t.mode === "postgres" ? "postgres" : "embedded (PGlite)", rows };
  } finally {
    await t.close();
  }
}

const LOAD_START = os.loadavg();
const MODEL_DIR = await judgeModel();
const serve = await startServe(MODEL_DIR);
const instant = await startInstant();
const results: Array<{ mode: string; rows: Row[] }> = [];
try {
  for (const mode of (args.db as string).split(",") as Array<"embedded" | "postgres">)
    results.push(await benchDb(mode, serve.url, instant));
} finally {
  serve.child.kill("SIGTERM");
  await instant.close();
}

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const lines: string[] = [
  `# AI judges: throughput and overhead`,
  ``,
  `${os.cpus().length} CPU cores (${os.cpus()[0]?.model ?? "?"}), load average at the start ${LOAD_START.map((x) => x.toFixed(1)).join(" / ")} and end ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(
      " / ",
    )} (other work on the machine skews absolute figures; compare rows of one run). Node ${process.version}. Judge: MT-Bench pairwise rubric, position swap on (2 calls per comparison), max_tokens ${MAX_TOKENS}.`,
  `Endpoint: \`pairwise serve\` (own process) serving the tiny preset (${path.basename(MODEL_DIR)}); reference: an instant fake endpoint in the bench process.`,
  ``,
];
for (const r of results) {
  const serveRows = r.rows.filter((x) => x.endpoint === "pairwise serve");
  const base = serveRows.find((x) => x.concurrency === 1) ?? serveRows[0];
  const fake1 = r.rows.find((x) => x.endpoint === "instant fake" && x.concurrency === 1);
  lines.push(`## Database: ${r.mode}`, ``);
  lines.push(
    `| endpoint | concurrency | comparisons | comparisons/min | × vs c=1 | ms/comparison | calls | judged | no verdict | call p50 ms | call p95 ms |`,
  );
  lines.push(`|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`);
  for (const x of r.rows) {
    const ref =
      x.endpoint === "pairwise serve"
        ? base
        : r.rows.find((y) => y.endpoint === "instant fake" && y.concurrency === 1);
    lines.push(
      `| ${x.endpoint} | ${x.concurrency} | ${x.comparisons} | ${f(x.comparisonsPerMinute)} | ${ref ? f(x.comparisonsPerMinute / ref.comparisonsPerMinute, 2) : "–"} | ${f(x.msPerComparison, 2)} | ${x.requests} | ${x.judged} | ${x.unparseable} | ${f(x.latencyP50Ms, 0)} | ${f(x.latencyP95Ms, 0)} |`,
    );
  }
  if (base && fake1) {
    lines.push(
      ``,
      `Pairwise's own cost: ${f(fake1.msPerComparison, 2)} ms per comparison at concurrency 1 (2 calls), i.e. ${f((fake1.msPerComparison / base.msPerComparison) * 100, 1)}% of a comparison's time against pairwise serve at concurrency 1.`,
      ``,
    );
  }
}
const outDir = path.resolve(ROOT, args.out as string);
fs.mkdirSync(outDir, { recursive: true });
const stamp = {
  date: new Date().toISOString(),
  loadAverageStart: LOAD_START,
  loadAverageEnd: os.loadavg(),
  cpus: os.cpus().length,
  node: process.version,
  maxTokens: MAX_TOKENS,
  model: path.basename(MODEL_DIR),
};
fs.writeFileSync(path.join(outDir, "judges.json"), JSON.stringify({ ...stamp, results }, null, 2));
fs.writeFileSync(path.join(outDir, "judges.md"), lines.join("\n") + "\n");
console.log("\n" + lines.join("\n"));
console.log(`\nwrote ${path.join(outDir, "judges.json")} and judges.md`);
