// Import -> export round trips in the ecosystem's formats, against a real database.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { createProject } from "@/server/projects/projects";
import { importFile, importStream, getImportJob } from "@/server/data/import";
import { exportLines } from "@/server/data/export";
import { recomputeComparison } from "@/server/data/judgments";

const FIXTURES = path.resolve(import.meta.dirname, "../../fixtures/data");
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.close());

let n = 0;
async function project(kind: "pairwise" | "ranking" = "pairwise") {
  return createProject(t.prisma, {
    slug: `p${++n}-${kind}`,
    name: `P${n}`,
    labelSchema: kind === "ranking" ? { kind: "ranking" } : { kind: "pairwise" },
  });
}
const text = (s: string) => Readable.from([Buffer.from(s)]);
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
async function exported(filter: Parameters<typeof exportLines>[0]): Promise<Array<Record<string, unknown>>> {
  let s = "";
  for await (const chunk of exportLines(filter)) s += chunk;
  return s
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
const pick = (rows: Array<Record<string, unknown>>, keys: string[]) =>
  rows.map((r) => JSON.stringify(Object.fromEntries(keys.map((k) => [k, r[k]])))).sort();

describe("TRL", () => {
  test("standard rows round-trip losslessly; re-importing adds nothing and says so", async () => {
    const p = await project();
    const file = path.join(FIXTURES, "trl.jsonl");
    const input = fs
      .readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const first = await importFile(file, { project: p.slug, maxTextChars: 10_000 });
    expect(first.status).toBe("succeeded");
    expect(first.report).toMatchObject({
      rows: 5,
      valid: 5,
      invalid: 0,
      duplicates: 0,
      added: { prompts: 5, completions: 10, comparisons: 5, judgments: 5, pairs: 5 },
      byFormat: { trl: 5 },
    });

    const out = await exported({ project: p.id, format: "trl" });
    expect(out).toHaveLength(5);
    expect(pick(out, ["prompt", "chosen", "rejected"])).toEqual(
      pick(input, ["prompt", "chosen", "rejected"]),
    );
    // added fields: margin (the row's, else 0), models, provenance
    const haiku = out.find((r) => r.prompt === "Write a haiku about rain.")!;
    expect(haiku.margin).toBe(2.5);
    expect(out.find((r) => String(r.prompt).startsWith("What is"))!.margin).toBe(0);
    const rec = out.find((r) => String(r.prompt).startsWith("Explain"))!;
    expect(rec).toMatchObject({
      chosen_model: "gpt-big",
      rejected_model: "gpt-small",
      source: "import",
      agreement: 1,
      weight: 1,
    });
    expect(Array.isArray(rec.judgment_ids) && rec.judgment_ids.length === 1).toBe(true);

    const job = await getImportJob(t.prisma, first.jobId);
    expect(job).toMatchObject({ status: "succeeded", rowsDone: 5, fraction: 1, fileName: "trl.jsonl" });
    expect(job.bytesDone).toBe(fs.statSync(file).size);

    const again = await importFile(file, { project: p.slug, maxTextChars: 10_000 });
    expect(again.report).toMatchObject({
      valid: 5,
      duplicates: 5,
      added: { prompts: 0, completions: 0, comparisons: 0, judgments: 0, pairs: 0 },
    });
    expect(again.report.summary).toMatch(/Nothing new: all 5 valid rows were already imported/);
    expect(await t.prisma.preferencePair.count({ where: { projectId: p.id } })).toBe(5);

    // the exported file re-imports as duplicates (provenance fields are ignored)
    const reimport = await importStream(text(jsonl(out)), { project: p.id, maxTextChars: 10_000 });
    expect(reimport.report).toMatchObject({ valid: 5, invalid: 0, duplicates: 5 });

    // imported pairs are exactly what aggregation gives: recomputing changes nothing
    const c = await t.prisma.comparison.findFirstOrThrow({ where: { projectId: p.id } });
    const r = await t.prisma.$transaction((tx) => recomputeComparison(tx, c.id));
    expect(r).toMatchObject({ pairsAdded: 0, pairsRetired: 0, status: "complete" });
  });

  test("conversational rows in a JSON array round-trip, and KTO unpairs them", async () => {
    const p = await project();
    const file = path.join(FIXTURES, "trl_conversational.json");
    const input = JSON.parse(fs.readFileSync(file, "utf8")) as Array<Record<string, unknown>>;
    const res = await importFile(file, { project: p.slug, maxTextChars: 10_000 });
    expect(res.report).toMatchObject({
      valid: 2,
      invalid: 0,
      byFormat: { trl_conversational: 2 },
      added: { pairs: 2 },
    });
    const out = await exported({ project: p.slug, format: "trl" });
    expect(pick(out, ["prompt", "chosen", "rejected"])).toEqual(
      pick(input, ["prompt", "chosen", "rejected"]),
    );

    const kto = await exported({ project: p.slug, format: "kto" });
    expect(kto).toHaveLength(4);
    expect(
      kto
        .filter((r) => r.label === true)
        .map((r) => (r.completion as Array<{ content: string }>)[0]!.content)
        .sort(),
    ).toEqual(["4", "Why did the scarecrow win an award? He was outstanding in his field."]);
    expect(kto.filter((r) => r.label === false)).toHaveLength(2);
  });

  test("implicit-prompt conversations and OpenAI preference rows", async () => {
    const p = await project();
    const rows = [
      {
        chosen: [
          { role: "user", content: "Name a prime." },
          { role: "assistant", content: "7" },
        ],
        rejected: [
          { role: "user", content: "Name a prime." },
          { role: "assistant", content: "9" },
        ],
      },
      {
        input: { messages: [{ role: "user", content: "Say hi politely." }] },
        preferred_output: [{ role: "assistant", content: "Hello, nice to meet you." }],
        non_preferred_output: [{ role: "assistant", content: "sup" }],
      },
    ];
    const res = await importStream(text(jsonl(rows)), { project: p.slug, maxTextChars: 1000 });
    expect(res.report).toMatchObject({
      valid: 2,
      byFormat: { trl_implicit: 1, openai_preference: 1 },
      added: { pairs: 2 },
    });
    const out = await exported({ project: p.slug, format: "trl" });
    expect(pick(out, ["prompt", "chosen", "rejected"])).toEqual(
      pick(
        [
          {
            prompt: [{ role: "user", content: "Name a prime." }],
            chosen: [{ role: "assistant", content: "7" }],
            rejected: [{ role: "assistant", content: "9" }],
          },
          {
            prompt: [{ role: "user", content: "Say hi politely." }],
            chosen: [{ role: "assistant", content: "Hello, nice to meet you." }],
            rejected: [{ role: "assistant", content: "sup" }],
          },
        ],
        ["prompt", "chosen", "rejected"],
      ),
    );
  });
});

test("HH-RLHF maps as documented and exports back to the same transcripts (gzip input)", async () => {
  const p = await project();
  const raw = fs.readFileSync(path.join(FIXTURES, "hh.jsonl"));
  const input = raw
    .toString("utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { chosen: string; rejected: string });
  const res = await importStream(Readable.from([zlib.gzipSync(raw)]), {
    project: p.slug,
    maxTextChars: 10_000,
  });
  expect(res.report).toMatchObject({
    valid: 2,
    invalid: 0,
    byFormat: { hh: 2 },
    added: { prompts: 2, pairs: 2 },
  });
  // mapping: the turns before the last Assistant turn are the prompt conversation
  const convs = await t.prisma.prompt.findMany({ where: { projectId: p.id } });
  const eggPrompt = convs.find((c) => JSON.stringify(c.messages).includes("boil"))!;
  expect(eggPrompt.text).toBeNull();
  expect(eggPrompt.messages).toEqual([
    { role: "user", content: "How do I boil an egg?" },
    { role: "assistant", content: "Put it in boiling water." },
    { role: "user", content: "For how long?" },
  ]);
  const out = await exported({ project: p.slug, format: "hh" });
  expect(pick(out, ["chosen", "rejected"])).toEqual(pick(input, ["chosen", "rejected"]));
  // and as TRL conversational rows
  const trl = await exported({ project: p.slug, format: "trl" });
  const row = trl.find((r) => JSON.stringify(r.prompt).includes("boil"))!;
  expect(row.chosen).toEqual([
    { role: "assistant", content: "About 9 minutes for a hard-boiled egg, 6 for a soft one." },
  ]);
});

test("HH-RLHF markers without their space export byte for byte as imported", async () => {
  const p = await project();
  const rows = [
    {
      chosen: "\n\nHuman:no space\n\nAssistant: spaced answer",
      rejected: "\n\nHuman:no space\n\nAssistant:tight",
    },
    {
      chosen: "\n\nHuman: hi\n\nAssistant:hello\n\nHuman:  two spaces\n\nAssistant: ok",
      rejected: "\n\nHuman: hi\n\nAssistant:hello\n\nHuman:  two spaces\n\nAssistant:no",
    },
  ];
  const input = jsonl(rows);
  const res = await importStream(text(input), { project: p.slug, maxTextChars: 1000 });
  expect(res.report).toMatchObject({ valid: 2, invalid: 0, added: { pairs: 2 } });
  // the text itself is the same as with the space (the space belongs to the marker)
  const prompts = await t.prisma.prompt.findMany({ where: { projectId: p.id } });
  expect(prompts.map((x) => x.messages)).toContainEqual([{ role: "user", content: "no space" }]);
  const out = await exported({ project: p.slug, format: "hh" });
  expect(pick(out, ["chosen", "rejected"])).toEqual(pick(rows, ["chosen", "rejected"]));
  // byte for byte: the exported lines hold exactly the imported strings
  for (const r of rows) {
    const o = out.find((x) => x.chosen === r.chosen)!;
    expect(JSON.stringify([o.chosen, o.rejected])).toBe(JSON.stringify([r.chosen, r.rejected]));
  }
});

test("a row that contradicts an earlier one is a second vote, kept: in one batch, across batches and files", async () => {
  const p = await project();
  const a = { prompt: "Which is better?", chosen: "first answer", rejected: "second answer" };
  const swapped = { prompt: a.prompt, chosen: a.rejected, rejected: a.chosen };
  const other = { prompt: "Another prompt", chosen: "x", rejected: "y" };
  // one batch: the swapped row is not a duplicate
  const res = await importStream(text(jsonl([a, swapped, a, other])), {
    project: p.slug,
    maxTextChars: 1000,
  });
  expect(res.report).toMatchObject({
    valid: 4,
    duplicates: 1, // the third row repeats the first vote exactly
    added: { prompts: 2, completions: 4, comparisons: 2, judgments: 3 },
  });
  const cmp = await t.prisma.comparison.findFirstOrThrow({
    where: { projectId: p.id, prompt: { text: a.prompt } },
    include: { judgments: true },
  });
  const ids = await t.prisma.completion.findMany({ where: { promptId: cmp.promptId } });
  const textOf = (id: string) => ids.find((c) => c.id === id)!.text;
  expect(
    cmp.judgments
      .map((j) => j.verdict as { winnerId: string; loserId: string })
      .map((v) => `${textOf(v.winnerId)} > ${textOf(v.loserId)}`)
      .sort(),
  ).toEqual(["first answer > second answer", "second answer > first answer"]);
  // two votes one each way: no consensus, so the comparison goes to review and yields no pair
  expect(cmp).toMatchObject({ status: "review", judgmentCount: 2, agreement: 0.5 });
  expect(await t.prisma.preferencePair.count({ where: { comparisonId: cmp.id, active: true } })).toBe(0);
  expect(res.report.added.pairs).toBe(1); // the other prompt's

  // the same file again adds nothing
  const again = await importStream(text(jsonl([a, swapped, a, other])), {
    project: p.slug,
    maxTextChars: 1000,
  });
  expect(again.report).toMatchObject({ duplicates: 4, added: { judgments: 0, pairs: 0, comparisons: 0 } });

  // a third vote in another file (batch size 1: every row its own batch) makes a 2:1 majority
  const third = await importStream(text(jsonl([swapped, { ...swapped, margin: 2 }])), {
    project: p.slug,
    maxTextChars: 1000,
    batchSize: 1,
  });
  expect(third.report).toMatchObject({ duplicates: 2, added: { judgments: 0 } }); // same vote as before
  const p2 = await project();
  const fresh = await importStream(text(jsonl([a, other])), {
    project: p2.slug,
    maxTextChars: 1000,
    batchSize: 1,
  });
  expect(fresh.report.added).toMatchObject({ comparisons: 2, judgments: 2, pairs: 2 });
  const later = await importStream(text(jsonl([swapped, swapped])), {
    project: p2.slug,
    maxTextChars: 1000,
    batchSize: 1,
  });
  expect(later.report).toMatchObject({ valid: 2, duplicates: 1, added: { judgments: 1, pairs: 0 } });
  const c2 = await t.prisma.comparison.findFirstOrThrow({
    where: { projectId: p2.id, prompt: { text: a.prompt } },
  });
  expect(c2).toMatchObject({ status: "review", judgmentCount: 2 });
  expect(await t.prisma.preferencePair.count({ where: { comparisonId: c2.id, active: true } })).toBe(0);
});

test("K-way rankings import into the pairs worked out by hand", async () => {
  const p = await project("ranking");
  const completions = ["alpha", "bravo", "charlie", "delta"];
  // best first: bravo > delta > alpha = charlie
  const res = await importStream(
    text(jsonl([{ prompt: "Rank these", completions, ranking: [[1], [3], [0, 2]] }])),
    { project: p.slug, maxTextChars: 1000 },
  );
  expect(res.report.added).toMatchObject({ comparisons: 1, judgments: 1, pairs: 5 });
  const out = await exported({ project: p.slug, format: "trl" });
  const got = out.map((r) => `${r.chosen}>${r.rejected} m=${r.margin} w=${r.weight}`).sort();
  // by hand: bravo>delta 1, bravo>alpha 2, bravo>charlie 2, delta>alpha 1, delta>charlie 1; alpha=charlie no pair; each weight 1/5
  expect(got).toEqual(
    ["bravo>delta m=1", "bravo>alpha m=2", "bravo>charlie m=2", "delta>alpha m=1", "delta>charlie m=1"]
      .map((s) => `${s} w=0.2`)
      .sort(),
  );
});

test("prompt-only rows, completions to judge, and chat rows grouped per prompt", async () => {
  const p = await project();
  const conv = [{ role: "user", content: "What is 6*7?" }];
  const rows = [
    { prompt: "Just a prompt" },
    { messages: [{ role: "user", content: "A chat prompt with no answer yet" }] },
    { prompt: "Compare these", completions: ["one", { text: "two", model: "m2" }] },
    { messages: [...conv, { role: "assistant", content: "42" }], model: "policy-a" },
    { messages: [...conv, { role: "assistant", content: "41" }], model: "policy-b" },
  ];
  const res = await importStream(text(jsonl(rows)), { project: p.slug, maxTextChars: 1000 });
  expect(res.report).toMatchObject({
    valid: 5,
    invalid: 0,
    byFormat: { prompt: 1, chat: 3, completions: 1 },
    added: { prompts: 4, completions: 4, comparisons: 2, judgments: 0, pairs: 0 },
  });
  const cmps = await t.prisma.comparison.findMany({ where: { projectId: p.id }, include: { prompt: true } });
  expect(cmps.every((c) => c.status === "open" && c.completionIds.length === 2)).toBe(true);
  const chat = cmps.find((c) => c.prompt.messages !== null)!;
  const models = await t.prisma.completion.findMany({
    where: { id: { in: chat.completionIds } },
    select: { modelName: true },
  });
  expect(models.map((m) => m.modelName).sort()).toEqual(["policy-a", "policy-b"]);
  const again = await importStream(text(jsonl(rows)), { project: p.slug, maxTextChars: 1000 });
  expect(again.report.added).toEqual({ prompts: 0, completions: 0, comparisons: 0, judgments: 0, pairs: 0 });
  expect(again.report.duplicates).toBe(5);
});

test("exports filter by origin, agreement and time", async () => {
  const p = await project();
  await importStream(text(jsonl([{ prompt: "q", chosen: "a", rejected: "b" }])), {
    project: p.slug,
    maxTextChars: 1000,
  });
  expect(await exported({ project: p.slug, origins: ["import"] })).toHaveLength(1);
  expect(await exported({ project: p.slug, origins: ["human"] })).toHaveLength(0);
  expect(await exported({ project: p.slug, minAgreement: 0.9 })).toHaveLength(1);
  expect(await exported({ project: p.slug, from: new Date(Date.now() + 60_000) })).toHaveLength(0);
  await expect(exported({ project: "no-such-project" })).rejects.toThrow(/No project "no-such-project"/);
  await expect(exported({ project: p.slug, split: "train" })).rejects.toThrow(/split needs a snapshot/);
});
