// POST/GET /api/v1/projects/{project}/rounds and GET /api/v1/rounds/{id}: tokens, roles, the
// one-round-per-project answer (201 then 200 with the same round), clear errors.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/tests/helpers/db";
import { db } from "@/server/db/client";
import { createApiToken } from "@/server/auth/tokens";
import { stopBoss } from "@/server/jobs/boss";
import { getRoundHandler, listRoundsHandler, startRoundHandler } from "@/server/api/training";
import { makeTrainingProject } from "./fixtures";

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await stopBoss();
  await tdb?.close();
});

const base = "http://localhost/api/v1";
const req = (path: string, token: string | null, init: RequestInit = {}) =>
  new Request(`${base}${path}`, {
    ...init,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });

describe("REST: training rounds", () => {
  it("starts one round per project, lists and shows it, and enforces scopes and roles", async () => {
    const p = await makeTrainingProject();
    const admin = await db().user.create({
      data: { email: "train-admin@example.com", name: "A", role: "admin" },
    });
    const annotator = await db().user.create({
      data: { email: "train-ann@example.com", name: "B", role: "annotator" },
    });
    const write = (await createApiToken({ userId: admin.id, name: "w", scopes: ["write"] })).token;
    const readOnly = (await createApiToken({ userId: admin.id, name: "r", scopes: ["read"] })).token;
    const annot = (await createApiToken({ userId: annotator.id, name: "x", scopes: ["write"] })).token;

    const first = await startRoundHandler(
      req(`/projects/${p.slug}/rounds`, write, {
        method: "POST",
        body: JSON.stringify({ overrides: { policy: { steps: 3 } } }),
      }),
    );
    expect(first.status).toBe(201);
    const a = (await first.json()) as {
      created: boolean;
      round: { id: string; number: number; status: string; trigger: string };
    };
    expect(a.created).toBe(true);
    expect(a.round).toMatchObject({ number: 1, status: "queued", trigger: "manual" });
    const stored = await db().trainingRound.findUniqueOrThrow({ where: { id: a.round.id } });
    expect((stored.config as { policy: { steps: number } }).policy.steps).toBe(3);
    expect(stored.requestedById).toBe(admin.id);

    const second = await startRoundHandler(
      req(`/projects/${p.id}/rounds`, write, { method: "POST", body: "{}" }),
    );
    expect(second.status).toBe(200);
    const b = (await second.json()) as { created: boolean; round: { id: string } };
    expect(b).toMatchObject({ created: false, round: { id: a.round.id } });

    const list = await listRoundsHandler(req(`/projects/${p.slug}/rounds`, readOnly));
    expect(list.status).toBe(200);
    expect(((await list.json()) as { rounds: unknown[] }).rounds).toHaveLength(1);
    const one = await getRoundHandler(req(`/rounds/${a.round.id}`, readOnly));
    expect(((await one.json()) as { id: string }).id).toBe(a.round.id);

    expect(
      (await startRoundHandler(req(`/projects/${p.slug}/rounds`, null, { method: "POST", body: "{}" })))
        .status,
    ).toBe(401);
    expect(
      (await startRoundHandler(req(`/projects/${p.slug}/rounds`, readOnly, { method: "POST", body: "{}" })))
        .status,
    ).toBe(403);
    expect(
      (await startRoundHandler(req(`/projects/${p.slug}/rounds`, annot, { method: "POST", body: "{}" })))
        .status,
    ).toBe(403);
    const missing = await startRoundHandler(
      req(`/projects/nope/rounds`, write, { method: "POST", body: "{}" }),
    );
    expect(missing.status).toBe(404);
    const bad = await startRoundHandler(
      req(`/projects/${p.slug}/rounds`, write, { method: "POST", body: "{not json" }),
    );
    expect(bad.status).toBe(400);
    expect((await getRoundHandler(req(`/rounds/nope`, readOnly))).status).toBe(404);
  });

  it("refuses overrides that are not valid training settings, naming the field", async () => {
    const p = await makeTrainingProject();
    const admin = await db().user.create({
      data: { email: "train-admin2@example.com", name: "A", role: "admin" },
    });
    const write = (await createApiToken({ userId: admin.id, name: "w", scopes: ["write"] })).token;
    const r = await startRoundHandler(
      req(`/projects/${p.slug}/rounds`, write, {
        method: "POST",
        body: JSON.stringify({ overrides: { policy: { method: "ppo" } } }),
      }),
    );
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/policy\.method/);
    expect(await db().trainingRound.count({ where: { projectId: p.id } })).toBe(0);
  });
});
