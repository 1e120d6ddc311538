// Bad input: every bad-line kind is reported with its line and reason, valid lines are kept, and
// nothing is ever half-written.
import crypto from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { createProject } from "@/server/projects/projects";
import { importStream, getImportJob } from "@/server/data/import";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.close());

let n = 0;
const project = () => createProject(t.prisma, { slug: `bad-${++n}`, name: `Bad ${n}` });
const text = (s: string | Buffer) => Readable.from([Buffer.isBuffer(s) ? s : Buffer.from(s)]);
const counts = async (projectId: string) => ({
  prompts: await t.prisma.prompt.count({ where: { projectId } }),
  completions: await t.prisma.completion.count({ where: { projectId } }),
  comparisons: await t.prisma.comparison.count({ where: { projectId } }),
  judgments: await t.prisma.judgment.count({ where: { projectId } }),
  pairs: await t.prisma.preferencePair.count({ where: { projectId } }),
});

test("each bad-line kind is reported with its line number and reason; valid lines are kept", async () => {
  const p = await project();
  const lines = [
    /* 1 */ JSON.stringify({ prompt: "good one", chosen: "yes", rejected: "no" }),
    /* 2 */ '{"prompt": "broken", "chosen": ',
    /* 3 */ JSON.stringify({ prompt: "no rejected", chosen: "a" }),
    /* 4 */ JSON.stringify({ prompt: 42 }),
    /* 5 */ JSON.stringify({ prompt: "empty chosen", chosen: "   ", rejected: "x" }),
    /* 6 */ JSON.stringify({ prompt: "too long", chosen: "x".repeat(101), rejected: "y" }),
    /* 7 */ JSON.stringify({ prompt: "elsewhere", chosen: "a", rejected: "b", project: "no-such-project" }),
    /* 8 */ "",
    /* 9 */ "[1, 2, 3]",
    /* 10 */ JSON.stringify({ prompt: "same", chosen: "same text", rejected: "same text" }),
    /* 11 */ JSON.stringify({
      prompt: [{ role: "wizard", content: "hi" }],
      chosen: [{ role: "assistant", content: "a" }],
      rejected: [{ role: "assistant", content: "b" }],
    }),
    /* 12 */ JSON.stringify({ title: "not a row" }),
    /* 13 */ JSON.stringify({ prompt: "second good one", completions: ["a", "b"] }),
    /* 14 */ JSON.stringify({ prompt: "q", completions: ["a", "b", "c"], ranking: [0, 7] }),
  ];
  const res = await importStream(text(lines.join("\n") + "\n"), { project: p.slug, maxTextChars: 100 });
  expect(res.status).toBe("succeeded");
  expect(res.report).toMatchObject({ rows: 13, valid: 2, invalid: 11 });
  const reason = (line: number) => res.report.errors.find((e) => e.line === line)?.reason;
  expect(reason(2)).toMatch(/^invalid JSON: .*is the file truncated\?/);
  expect(reason(3)).toBe('missing field "rejected"');
  expect(reason(4)).toBe("prompt must be a string, got a number");
  expect(reason(5)).toBe("chosen is empty");
  expect(reason(6)).toBe("chosen is 101 characters, over the limit of 100 (PAIRWISE_MAX_TEXT_CHARS)");
  expect(reason(7)).toBe('unknown project "no-such-project"');
  expect(reason(8)).toBeUndefined(); // blank lines are skipped
  expect(reason(9)).toBe("expected a JSON object, got an array");
  expect(reason(10)).toMatch(/chosen and rejected are the same text/);
  expect(reason(11)).toMatch(/prompt\[0\]\.role must be one of system, user, assistant, tool/);
  expect(reason(12)).toMatch(/^unrecognised row \(fields: title\): expected \{prompt\}/);
  expect(reason(14)).toBe("ranking index 7 is not a completion index 0..2");
  expect(res.report.summary).toMatch(/11 bad rows were skipped/);
  expect(await counts(p.id)).toEqual({ prompts: 2, completions: 4, comparisons: 2, judgments: 1, pairs: 1 });
  const job = await getImportJob(t.prisma, res.jobId);
  expect(job.report.invalid).toBe(11);
  expect(job.report.errors).toHaveLength(11);
});

test("a truncated JSON Lines file: the cut line is reported, the rows before it are imported", async () => {
  const p = await project();
  const rows = Array.from({ length: 5 }, (_, i) =>
    JSON.stringify({ prompt: `p${i}`, chosen: "a", rejected: "b" }),
  );
  const body = rows.join("\n").slice(0, -12); // cut inside the last row
  const res = await importStream(text(body), { project: p.slug, maxTextChars: 100 });
  expect(res.report).toMatchObject({ valid: 4, invalid: 1 });
  expect(res.report.errors[0]).toMatchObject({ line: 5 });
  expect(res.report.errors[0]!.reason).toMatch(/is the file truncated\?/);
  expect((await counts(p.id)).comparisons).toBe(4);
});

test("a truncated JSON array: reported as truncated, complete elements kept", async () => {
  const p = await project();
  const body = `[\n  {"prompt": "a1", "chosen": "x", "rejected": "y"},\n  {"prompt": "a2", "chosen": "x", "rejected": "y"},\n  {"prompt": "a3", "chos`;
  const res = await importStream(text(body), { project: p.slug, maxTextChars: 100 });
  expect(res.status).toBe("succeeded");
  expect(res.report.valid).toBe(2);
  expect(res.report.fatal).toMatch(/ends inside array element 3 \(starting on line 4\): it looks truncated/);
  expect(res.report.summary).toMatch(/Warning: .*truncated/);
  expect((await counts(p.id)).comparisons).toBe(2);
});

test("a file that is not JSON at all fails with a clear message and writes nothing", async () => {
  const p = await project();
  const csv = ["prompt,chosen,rejected", ...Array.from({ length: 40 }, (_, i) => `q${i},a,b`)].join("\n");
  const res = await importStream(text(csv), { project: p.slug, maxTextChars: 100 });
  expect(res.status).toBe("failed");
  expect(res.report.fatal).toMatch(
    /not JSON Lines or a JSON array: none of its first 20 lines parse as JSON/,
  );
  expect(res.report.summary).toMatch(/^Nothing imported: the file is not JSON/);
  expect(res.report.rows).toBeLessThanOrEqual(20); // it stopped reading
  const short = await importStream(text("hello\nworld\n"), { project: p.slug, maxTextChars: 100 });
  expect(short.status).toBe("failed");
  expect(short.report.fatal).toMatch(/none of its 2 lines parse as JSON/);
  const binary = await importStream(
    text(Buffer.concat([Buffer.from([0, 1, 2, 3]), crypto.randomBytes(5000)])),
    { project: p.slug, maxTextChars: 100 },
  );
  expect(binary.status).toBe("failed");
  expect(binary.report.fatal).toMatch(/binary, not JSON/);
  const zip = await importStream(text(Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 0])), {
    project: p.slug,
    maxTextChars: 100,
  });
  expect(zip.report.fatal).toMatch(/ZIP archive/);
  expect((await getImportJob(t.prisma, res.jobId)).status).toBe("failed");
  expect(await counts(p.id)).toEqual({ prompts: 0, completions: 0, comparisons: 0, judgments: 0, pairs: 0 });
});

test("a 50 MB single line is skipped with its size, without holding it in memory", async () => {
  const p = await project();
  const MB = 1024 * 1024;
  async function* huge() {
    yield Buffer.from(JSON.stringify({ prompt: "fine", chosen: "a", rejected: "b" }) + '\n{"prompt": "');
    const chunk = Buffer.alloc(MB, "x");
    for (let i = 0; i < 50; i++) yield chunk;
    yield Buffer.from(
      '", "chosen": "a", "rejected": "b"}\n' +
        JSON.stringify({ prompt: "also fine", chosen: "a", rejected: "b" }) +
        "\n",
    );
  }
  const before = process.memoryUsage().rss;
  const res = await importStream(huge(), { project: p.slug, maxTextChars: 10_000 });
  expect(res.report).toMatchObject({ rows: 3, valid: 2, invalid: 1 });
  expect(res.report.errors[0]).toMatchObject({ line: 2 });
  expect(res.report.errors[0]!.reason).toMatch(
    /^line is 50\.0 MB, longer than the longest accepted record \(1\.0 MB\); it was skipped$/,
  );
  expect(process.memoryUsage().rss - before).toBeLessThan(40 * MB);
  expect((await counts(p.id)).comparisons).toBe(2);
});

test("a batch that fails is rolled back whole; running the import again completes it", async () => {
  const p = await project();
  // Make the database refuse one comparison, as a constraint or a crash would.
  await t.prisma.$executeRawUnsafe(`CREATE OR REPLACE FUNCTION refuse_poison() RETURNS trigger AS $$
    BEGIN IF EXISTS (SELECT 1 FROM "Prompt" WHERE id = NEW."promptId" AND text = 'poison') THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
  await t.prisma.$executeRawUnsafe(
    `CREATE TRIGGER refuse_poison BEFORE INSERT ON "Comparison" FOR EACH ROW EXECUTE FUNCTION refuse_poison()`,
  );
  const rows = ["ok1", "ok2", "ok3", "poison", "ok5", "ok6"]
    .map((q) => JSON.stringify({ prompt: q, chosen: `${q}-a`, rejected: `${q}-b` }))
    .join("\n");
  try {
    // one writer, so the batches commit in order (with several, later batches may commit too)
    const res = await importStream(text(rows), {
      project: p.slug,
      maxTextChars: 100,
      batchSize: 2,
      writers: 1,
    });
    expect(res.status).toBe("failed");
    expect(res.error).toMatch(/refused for the test/);
    expect(res.report.fatal).toMatch(
      /Batches committed before the failure stay imported; run the import again/,
    );
    // batch 1 (ok1, ok2) committed; batch 2 (ok3, poison) left no prompt, completion or comparison behind
    expect(await counts(p.id)).toEqual({
      prompts: 2,
      completions: 4,
      comparisons: 2,
      judgments: 2,
      pairs: 2,
    });
    expect(await t.prisma.prompt.count({ where: { projectId: p.id, text: { in: ["ok3", "poison"] } } })).toBe(
      0,
    );
    expect((await getImportJob(t.prisma, res.jobId)).status).toBe("failed");
  } finally {
    await t.prisma.$executeRawUnsafe(`DROP TRIGGER refuse_poison ON "Comparison"`);
  }
  const again = await importStream(text(rows), { project: p.slug, maxTextChars: 100, batchSize: 2 });
  expect(again.report).toMatchObject({ valid: 6, duplicates: 2, added: { comparisons: 4, pairs: 4 } });
  expect((await counts(p.id)).pairs).toBe(6);
});

test("an unknown project for the whole import is refused before reading", async () => {
  await expect(importStream(text("{}"), { project: "nope", maxTextChars: 100 })).rejects.toThrow(
    /No project "nope"/,
  );
});
