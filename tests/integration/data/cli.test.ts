// The `pairwise` CLI's commands through main(), against a real database; one run through the real
// bin/pairwise.mjs process too.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFile } from "node:child_process";
import { PassThrough, Readable } from "node:stream";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { resetEnvForTests } from "@/server/env";
import { main } from "@/server/cli";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const FIXTURES = path.join(ROOT, "tests/fixtures/data");
let t: TestDatabase;
let dir: string;
beforeAll(async () => {
  t = await createTestDatabase();
  resetEnvForTests();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-cli-"));
});
afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await t?.close();
});

async function run(argv: string[], stdin = ""): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d) => (out += d));
  stderr.on("data", (d) => (err += d));
  const code = await main(argv, { stdout, stderr, stdin: Readable.from([Buffer.from(stdin)]) });
  return { code, out, err };
}

test("help, unknown commands and usage errors", async () => {
  const help = await run(["--help"]);
  expect(help.code).toBe(0);
  for (const c of ["import", "export", "users", "tokens", "migrate", "start"])
    expect(help.out).toContain(`  ${c}`);
  expect((await run(["import", "--help"])).out).toMatch(/^Usage: pairwise import <file\|-> --project/);
  expect(await run(["imprt"])).toMatchObject({
    code: 2,
    err: expect.stringMatching(/unknown command "imprt" \(did you mean import\?\)/),
  });
  expect(await run(["import"])).toMatchObject({
    code: 2,
    err: expect.stringMatching(/give the file to import[\s\S]*pairwise import --help/),
  });
  expect(await run(["export", "--project", "x", "--bogus"])).toMatchObject({
    code: 2,
    err: expect.stringMatching(/Unknown option '--bogus'/),
  });
  expect(await run(["export", "-p", "x", "--format", "csv"])).toMatchObject({
    code: 2,
    err: expect.stringMatching(/--format must be trl, kto, hh or votes/),
  });
});

test("migrate, projects, import (file and stdin), export to a file, snapshot", async () => {
  expect(await run(["migrate"])).toMatchObject({ code: 0, out: expect.stringMatching(/up to date/) });
  expect(
    await run(["projects", "create", "--slug", "cli", "--name", "CLI", "--kind", "ranking"]),
  ).toMatchObject({ code: 0, out: expect.stringMatching(/created project cli/) });
  expect((await run(["projects", "list"])).out).toMatch(/cli\s+ranking\s+1\s+CLI/);

  const imp = await run(["import", path.join(FIXTURES, "trl.jsonl"), "--project", "cli"]);
  expect(imp.code).toBe(0);
  expect(imp.out).toMatch(/Imported 5 valid rows/);
  expect(imp.out).toMatch(/added: 5 prompts, 10 completions, 5 comparisons, 5 judgments, 5 pairs/);
  const again = await run(["import", path.join(FIXTURES, "trl.jsonl"), "-p", "cli"]);
  expect(again.out).toMatch(/Nothing new: all 5 valid rows were already imported/);

  const bad = await run(["import", "-", "-p", "cli"], '{"prompt": "ok"}\n{"prompt": ""}\nnope\n');
  expect(bad.code).toBe(2);
  expect(bad.out).toMatch(/line 2: prompt is empty/);
  expect(bad.out).toMatch(/line 3: invalid JSON/);
  // every row bad: nothing could be imported, which is exit status 1 (as --help and the README say)
  const allBad = await run(["import", "-", "-p", "cli"], '{"prompt": ""}\n{"chosen": "x"}\n');
  expect(allBad).toMatchObject({
    code: 1,
    err: expect.stringMatching(/nothing could be imported: all 2 rows/),
  });
  expect((await run(["import", "--help"])).out).toMatch(
    /1 nothing could be imported \(the file is unreadable, or every row is bad\)/,
  );
  const notJson = await run(["import", "-", "-p", "cli"], "a,b\n1,2\n");
  expect(notJson).toMatchObject({ code: 1, err: expect.stringMatching(/error: the file is not JSON/) });
  expect(await run(["import", path.join(dir, "missing.jsonl"), "-p", "cli"])).toMatchObject({
    code: 1,
    err: expect.stringMatching(/no such file/),
  });
  expect(await run(["import", path.join(FIXTURES, "trl.jsonl"), "-p", "nope"])).toMatchObject({
    code: 1,
    err: expect.stringMatching(/No project "nope"/),
  });

  const out = path.join(dir, "prefs.jsonl");
  const exp = await run(["export", "-p", "cli", "-o", out]);
  expect(exp).toMatchObject({ code: 0, err: expect.stringMatching(/wrote 5 rows/) });
  expect(fs.readFileSync(out, "utf8").trim().split("\n")).toHaveLength(5);
  expect(fs.readdirSync(dir).filter((f) => f.includes("partial"))).toEqual([]);
  const hh = await run(["export", "-p", "cli", "--format", "hh", "--human-only"]);
  expect(hh).toMatchObject({ code: 0, out: "" });
  expect(await run(["export", "-p", "cli", "--human-only", "--ai-only"])).toMatchObject({ code: 2 });

  const snap = await run(["snapshot", "create", "-p", "cli", "--validation", "0.5"]);
  expect(snap.code).toBe(0);
  expect(JSON.parse(snap.out)).toMatchObject({ pairCount: 5, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
});

test("users and tokens", async () => {
  const created = await run(
    [
      "users",
      "create",
      "--email",
      "Lead@Example.com",
      "--name",
      "Lead",
      "--role",
      "admin",
      "--password-stdin",
    ],
    "correct horse battery\n",
  );
  expect(created).toMatchObject({ code: 0, out: expect.stringMatching(/created admin lead@example.com/) });
  const u = await t.prisma.user.findUniqueOrThrow({
    where: { email: "lead@example.com" },
    select: { passwordHash: true, role: true },
  });
  expect(u.passwordHash).toMatch(/^\$2[aby]\$10\$/);
  expect(await run(["users", "create", "--email", "lead@example.com"])).toMatchObject({
    code: 1,
    err: expect.stringMatching(/already exists/),
  });
  expect(
    await run(["users", "create", "--email", "x@example.com", "--password-stdin"], "short\n"),
  ).toMatchObject({ code: 2, err: expect.stringMatching(/at least 8 characters/) });
  expect(await run(["users", "set-role", "lead@example.com", "boss"])).toMatchObject({
    code: 2,
    err: expect.stringMatching(/one of annotator, reviewer, admin/),
  });
  expect(await run(["users", "set-role", "lead@example.com", "reviewer"])).toMatchObject({ code: 0 });

  const tok = await run([
    "tokens",
    "create",
    "--user",
    "lead@example.com",
    "--scopes",
    "read,write",
    "--json",
  ]);
  expect(tok.code).toBe(0);
  const { token, id } = JSON.parse(tok.out) as { token: string; id: string };
  expect(token).toMatch(/^pw_[0-9a-f]{8}_/);
  expect((await run(["tokens", "list"])).out).toMatch(
    new RegExp(`${id}\\s+lead@example.com.*read,write\\s+active`),
  );
  expect(await run(["tokens", "create", "--user", "lead@example.com", "--scopes", "root"])).toMatchObject({
    code: 2,
    err: expect.stringMatching(/unknown scope root/),
  });
  expect(await run(["users", "deactivate", "lead@example.com"])).toMatchObject({ code: 0 });
  expect((await run(["tokens", "list", "--user", "lead@example.com"])).out).toMatch(/revoked/);
  expect((await run(["users", "list"])).out).toMatch(/lead@example.com\s+reviewer\s+no/);
});

test("the real bin/pairwise.mjs process exits non-zero with a clear message", async () => {
  // async: the in-process PGlite server (default test mode) must keep answering meanwhile
  const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [path.join(ROOT, "bin/pairwise.mjs"), "export", "-p", "no-such-project"],
      { cwd: ROOT, env: { ...process.env, DATABASE_URL: t.url }, timeout: 60_000 },
      (_e, _out, stderr) => resolve({ status: child.exitCode, stderr: String(stderr) }),
    );
  });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/error: No project "no-such-project"/);
});
