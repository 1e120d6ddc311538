// Annotator API tokens get what the annotation UI gets (issue 15, items 1-5): REST judgments go
// through the queue (overlap, one vote per person), "ai" judgments only from a judge's own token,
// no gold answers, no model names, no other people's judgments. Real Request objects, a real
// database, the node-postgres executor the web process uses.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { createApiToken } from "@/server/auth/tokens";
import { closeAppSql } from "@/server/db/client";
import * as api from "@/server/api/handlers";
import * as loop from "@/server/api/annotation";
import { makeProject, makeUser, type ProjectFixture } from "../annotation/fixtures";

const BASE = "http://pairwise.test/api/v1";
let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await closeAppSql();
  await t?.close();
});

function req(method: string, url: string, token: string, json?: unknown): Request {
  return new Request(`${BASE}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies, checked field by field below
async function body<T = Record<string, any>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}
async function person(
  name: string,
  role: "annotator" | "reviewer" | "admin",
  scopes: Array<"read" | "write" | "admin">,
) {
  const user = await makeUser(t.prisma, name, role);
  const { token } = await createApiToken({ userId: user.id, name, scopes });
  return { user, token };
}
const win = (ids: string[]) => ({
  kind: "pairwise",
  outcome: "win",
  winnerId: ids[0],
  loserId: ids[1],
  strength: 1,
});
const postJudgment = (token: string, comparisonId: string, json: Record<string, unknown>) =>
  api.recordJudgmentHandler(req("POST", `/comparisons/${comparisonId}/judgments`, token, json));

let fx: ProjectFixture;
let slug: string;
let ann: { user: { id: string }; token: string };
let ann2: { user: { id: string }; token: string };
let reader: { user: { id: string }; token: string };
let reviewer: { user: { id: string }; token: string };
let admin: { user: { id: string }; token: string };

beforeAll(async () => {
  ann = await person("Ann", "annotator", ["write"]);
  ann2 = await person("Bo", "annotator", ["write"]);
  reader = await person("Rea", "annotator", ["read"]);
  reviewer = await person("Rey", "reviewer", ["write"]);
  admin = await person("Ada", "admin", ["admin"]);
  fx = await makeProject(t.prisma, { comparisons: 3, gold: 1, overlap: 1 });
  slug = (await t.prisma.project.findUniqueOrThrow({ where: { id: fx.projectId } })).slug;
});

describe("1. human judgments over REST go through the queue", () => {
  test("an annotator without a lease is refused; with one, one vote, within overlap", async () => {
    const target = fx.comparisonIds[0]!;
    const ids = fx.completions.get(target)!;
    for (let i = 0; i < 5; i++) {
      const res = await postJudgment(ann.token, target, { idempotencyKey: `free-${i}`, verdict: win(ids) });
      expect(res.status).toBe(403);
      expect((await body(res)).error.message).toMatch(/go through the queue/);
    }
    expect(await t.prisma.judgment.count({ where: { comparisonId: target } })).toBe(0);

    // Lease through the queue, then record the judgment of the leased comparison.
    const lease = await body(
      await loop.annotationNextHandler(req("POST", `/projects/${slug}/annotation/next`, ann.token, {})),
    );
    expect(lease.kind).toBe("assignment");
    const leased: string = lease.assignment.comparisonId;
    const leasedIds = fx.completions.get(leased)!;
    const first = await postJudgment(ann.token, leased, { idempotencyKey: "ann-1", verdict: win(leasedIds) });
    expect(first.status).toBe(201);
    // The same request again: the first result; another key: one vote per person.
    expect(
      (await postJudgment(ann.token, leased, { idempotencyKey: "ann-1", verdict: win(leasedIds) })).status,
    ).toBe(200);
    const again = await postJudgment(ann.token, leased, { idempotencyKey: "ann-2", verdict: win(leasedIds) });
    expect(again.status).toBe(409);
    expect((await body(again)).error.message).toMatch(/one vote per person/);
    // Someone else's key is a conflict, never their judgment back.
    const stolen = await postJudgment(ann2.token, leased, {
      idempotencyKey: "ann-1",
      verdict: win(leasedIds),
    });
    expect(stolen.status).toBe(409);

    const c = await t.prisma.comparison.findUniqueOrThrow({ where: { id: leased } });
    expect(c.judgmentCount).toBe(1);
    expect(c.leaseCount).toBe(0);
    const pairs = await t.prisma.preferencePair.findMany({ where: { comparisonId: leased, active: true } });
    expect(pairs.map((p) => p.judgmentIds.length)).toEqual([1]);
    const a = await t.prisma.assignment.findFirstOrThrow({
      where: { comparisonId: leased, userId: ann.user.id },
    });
    expect(a.status).toBe("submitted");

    // Past overlap: a reviewer's direct vote on the full comparison is refused too.
    const full = await postJudgment(reviewer.token, leased, {
      idempotencyKey: "rev-full",
      verdict: win(leasedIds),
    });
    expect(full.status).toBe(409);
    expect(await t.prisma.judgment.count({ where: { comparisonId: leased } })).toBe(1);
  });

  test("a reviewer's direct vote takes a free slot once; annotators cannot correct others' votes", async () => {
    const free = (
      await t.prisma.comparison.findMany({
        where: { id: { in: fx.comparisonIds }, judgmentCount: 0, leaseCount: 0 },
      })
    )[0]!;
    const ids = fx.completions.get(free.id)!;
    const r1 = await postJudgment(reviewer.token, free.id, { idempotencyKey: "rev-1", verdict: win(ids) });
    expect(r1.status).toBe(201);
    const j = (await body(r1)).judgment;
    const r2 = await postJudgment(reviewer.token, free.id, { idempotencyKey: "rev-2", verdict: win(ids) });
    expect(r2.status).toBe(409);
    const sup = await postJudgment(ann.token, free.id, {
      idempotencyKey: "ann-sup",
      verdict: win([ids[1]!, ids[0]!]),
      supersedesId: j.id,
    });
    expect(sup.status).toBe(403);
    expect((await t.prisma.judgment.findUniqueOrThrow({ where: { id: j.id } })).supersededAt).toBeNull();
  });
});

describe('2. source "ai" only from a judge\'s own token', () => {
  test("annotator and admin tokens are refused; a token for a nonexistent judge cannot be made", async () => {
    const target = fx.comparisonIds[2]!;
    const ids = fx.completions.get(target)!;
    for (const who of [ann, admin]) {
      const res = await postJudgment(who.token, target, {
        idempotencyKey: `ai-${who.user.id}`,
        verdict: win(ids),
        source: "ai",
        judgeConfigId: "no-such-judge",
      });
      expect(res.status).toBe(403);
    }
    await expect(
      createApiToken({
        userId: admin.user.id,
        name: "judge",
        scopes: ["write"],
        judgeConfigId: "no-such-judge",
      }),
    ).rejects.toThrow(/No judge/);
    expect(await t.prisma.judgment.count({ where: { source: "ai" } })).toBe(0);
  });

  test("a judge's token records its judge's verdict once, and nothing else", async () => {
    const judge = await t.prisma.judgeConfig.create({
      data: { name: "J", kind: "llm", projectId: fx.projectId },
    });
    const { token } = await createApiToken({
      userId: admin.user.id,
      name: "j",
      scopes: ["write"],
      judgeConfigId: judge.id,
    });
    const target = fx.comparisonIds[2]!;
    const ids = fx.completions.get(target)!;
    const ok = await postJudgment(token, target, {
      idempotencyKey: "judge-1",
      verdict: win(ids),
      source: "ai",
    });
    expect(ok.status).toBe(201);
    expect((await body(ok)).judgment).toMatchObject({ source: "ai", judgeConfigId: judge.id, userId: null });
    const twice = await postJudgment(token, target, {
      idempotencyKey: "judge-2",
      verdict: win(ids),
      source: "ai",
    });
    expect(twice.status).toBe(409);
    const other = await postJudgment(token, target, {
      idempotencyKey: "judge-3",
      verdict: win(ids),
      source: "ai",
      judgeConfigId: "someone-else",
    });
    expect(other.status).toBe(403);
    const human = await postJudgment(token, target, { idempotencyKey: "judge-4", verdict: win(ids) });
    expect(human.status).toBe(403);
  });
});

describe("3-5. what annotator tokens read", () => {
  test("no gold answers, no gold flag, no model names; reviewers and admins see them", async () => {
    const gold = fx.goldIds[0]!;
    for (const who of [ann, reader]) {
      const one = await api.getComparisonHandler(req("GET", `/comparisons/${gold}`, who.token));
      expect(one.status).toBe(200);
      const c = await body(one);
      expect(c.goldAnswer).toBeNull();
      expect(c.isGold).toBeNull();
      expect(c.completions.map((x: { model: unknown }) => x.model)).toEqual([null, null]);
      const text = JSON.stringify(c);
      expect(text).not.toMatch(/model-x|model-y|winnerId/);
      const list = await api.listComparisonsHandler(req("GET", `/projects/${slug}/comparisons`, who.token));
      const listed = JSON.stringify(await body(list));
      expect(listed).not.toMatch(/model-x|model-y|winnerId|"isGold":true/);
    }
    const c = await body(await api.getComparisonHandler(req("GET", `/comparisons/${gold}`, admin.token)));
    expect(c.goldAnswer).toMatchObject({ outcome: "win" });
    expect(c.isGold).toBe(true);
    expect(c.completions.map((x: { model: unknown }) => x.model)).toEqual(["model-x", "model-y"]);
    const r = await body(await api.getComparisonHandler(req("GET", `/comparisons/${gold}`, reviewer.token)));
    expect(r.goldAnswer).not.toBeNull();
  });

  test("only one's own judgments, without the gold check's outcome", async () => {
    const judged = await t.prisma.judgment.findFirstOrThrow({ where: { userId: ann.user.id } });
    await t.prisma.judgment.update({
      where: { id: judged.id },
      data: { rationale: "Ann's private reasons" },
    });
    const mine = await body(
      await api.listJudgmentsHandler(req("GET", `/comparisons/${judged.comparisonId}/judgments`, ann.token)),
    );
    expect(mine.items.map((j: { id: string }) => j.id)).toEqual([judged.id]);
    expect(mine.items[0].goldCorrect).toBeNull();
    const theirs = await body(
      await api.listJudgmentsHandler(req("GET", `/comparisons/${judged.comparisonId}/judgments`, ann2.token)),
    );
    expect(theirs.items).toEqual([]);
    expect(JSON.stringify(theirs)).not.toMatch(/private reasons/);
    const all = await body(
      await api.listJudgmentsHandler(
        req("GET", `/comparisons/${judged.comparisonId}/judgments`, reviewer.token),
      ),
    );
    expect(all.items.map((j: { rationale: string }) => j.rationale)).toContain("Ann's private reasons");
  });

  test("model names after one's own vote only when the project reveals them", async () => {
    await t.prisma.project.update({
      where: { id: fx.projectId },
      data: { settings: { revealModelsAfterVote: true } },
    });
    const judged = await t.prisma.judgment.findFirstOrThrow({ where: { userId: ann.user.id } });
    const seen = await body(
      await api.getComparisonHandler(req("GET", `/comparisons/${judged.comparisonId}`, ann.token)),
    );
    expect(seen.completions.map((x: { model: unknown }) => x.model).sort()).toEqual(["model-x", "model-y"]);
    const unseen = await body(
      await api.getComparisonHandler(req("GET", `/comparisons/${judged.comparisonId}`, ann2.token)),
    );
    expect(unseen.completions.map((x: { model: unknown }) => x.model)).toEqual([null, null]);
  });
});
