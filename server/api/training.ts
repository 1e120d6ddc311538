// REST edge of training rounds (/api/v1): route table entries (method, path, scope, role, zod
// schemas) and handlers over server/training; app/api/v1/**/route.ts re-exports them. It lives in
// server/api (as annotation.ts does) so that imports point one way: api -> training, never back.
import { z } from "zod";
import { db } from "@/server/db/client";
import { handler, type RouteDef } from "./http";
import { getProjectOrThrow } from "@/server/projects/projects";
import { requestAndEnqueue } from "@/server/training/jobs";
import { getRoundOrThrow, listRounds } from "@/server/training/rounds";
import { roundPreflight } from "@/server/training/preflight";
import { ROUND_STATUSES } from "@/server/enums";

const Id = z.string().min(1).max(200);

export const RoundOut = z.object({
  id: z.string(),
  projectId: z.string(),
  number: z.number().int(),
  status: z.enum(ROUND_STATUSES),
  stage: z.string(),
  trigger: z.enum(["cron", "condition", "manual"]),
  snapshotId: z.string().nullable(),
  progress: z.record(z.string(), z.unknown()),
  result: z.record(z.string(), z.unknown()),
  stages: z.array(
    z.object({
      stage: z.string(),
      status: z.enum(["pending", "running", "done", "skipped", "failed"]),
      reason: z.string().nullable(),
    }),
  ),
  error: z.string().nullable(),
  backend: z.string().nullable(),
  attempts: z.number().int(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});

export const RoundPlanOut = z.object({
  bootstrap: z
    .boolean()
    .describe("The project has no policy yet: the round first trains a tokenizer and an SFT policy"),
  pairs: z.number().int().describe("Active preference pairs the snapshot would freeze"),
  trainPairs: z.number().int().describe("Of them, those in the train split"),
  minTrainPairs: z.number().int(),
  trains: z.boolean().describe("The reward and policy stages will train"),
  method: z.string(),
  policyPairs: z.enum(["all", "new"]),
  newPairs: z.number().int(),
  unattendedLabeling: z.boolean(),
  plan: z.array(z.string()).describe("What the round will do, stage by stage, in words"),
  missing: z.array(z.string()).describe("Why there are not more pairs, in words"),
  refusal: z.string().nullable().describe("Why the training page refuses to run a round now, or null"),
  counts: z.object({
    comparisons: z.number().int(),
    unjudged: z.number().int(),
    waitingForOverlap: z.number().int(),
    review: z.number().int(),
    flagged: z.number().int(),
    decidedWithoutPair: z.number().int(),
    gold: z.number().int(),
    annotators: z.number().int(),
    aiJudgments: z.number().int(),
    overlap: z.number().int(),
    aiCountsTowardConsensus: z.boolean(),
  }),
});

export const trainingRoutes = {
  roundPlan: {
    operationId: "roundPlan",
    method: "GET",
    path: "/projects/{project}/rounds/plan",
    summary: "What a round started now would do, and why pairs are missing (before POST /rounds)",
    description:
      'The same answer the training page shows before "Run a round now": the stages in words, the train pairs against the minimum the reward and policy stages need, the reasons pairs are missing (comparisons short of the overlap, too few annotators, disagreements, ties), and the refusal, if any. Read-only.',
    tag: "training",
    scope: "read",
    projectFrom: "project",
    role: "admin",
    params: z.object({ project: Id.describe("Project id or slug") }),
    response: RoundPlanOut,
  },
  startRound: {
    operationId: "startRound",
    method: "POST",
    path: "/projects/{project}/rounds",
    summary: "Run a training round now (returns the queued or running round if there is one)",
    description:
      'A round freezes a snapshot of the pairs, trains the reward model and the policy, evaluates, gates and asks for new comparisons. One round per project at a time: 201 with created=true when a round was queued, 200 with created=false and the active round otherwise. `overrides` are merged over the project\'s training settings for this round only (e.g. {"policy": {"steps": 20}}).',
    tag: "training",
    scope: "write",
    projectFrom: "project",
    role: "admin",
    params: z.object({ project: Id.describe("Project id or slug") }),
    body: z.object({ overrides: z.record(z.string(), z.unknown()).optional() }).default({}),
    response: z.object({ created: z.boolean(), round: RoundOut }),
    status: 201,
  },
  listRounds: {
    operationId: "listRounds",
    method: "GET",
    path: "/projects/{project}/rounds",
    summary: "A project's training rounds, newest first",
    tag: "training",
    scope: "read",
    projectFrom: "project",
    role: "reviewer",
    params: z.object({ project: Id.describe("Project id or slug") }),
    query: z.object({ limit: z.coerce.number().int().min(1).max(1000).optional() }),
    response: z.object({ rounds: z.array(RoundOut) }),
  },
  getRound: {
    operationId: "getRound",
    method: "GET",
    path: "/rounds/{id}",
    summary: "A training round: stage, progress, per-stage results, error",
    tag: "training",
    scope: "read",
    projectFrom: "round",
    role: "reviewer",
    params: z.object({ id: Id }),
    response: RoundOut,
  },
} satisfies Record<string, RouteDef>;

// POST /api/v1/projects/{project}/rounds - run a round now
export const startRoundHandler = handler(trainingRoutes.startRound, async ({ params, body, auth }) => {
  const p = await getProjectOrThrow(db(), params.project);
  const r = await requestAndEnqueue({
    projectId: p.id,
    trigger: "manual",
    requestedById: auth?.user.id ?? null,
    overrides: body?.overrides,
  });
  return Response.json(r, { status: r.created ? 201 : 200 });
});

// GET /api/v1/projects/{project}/rounds/plan - what a round started now would do
export const roundPlanHandler = handler(trainingRoutes.roundPlan, async ({ params }) => {
  const p = await getProjectOrThrow(db(), params.project);
  return roundPreflight(p.id);
});

// GET /api/v1/projects/{project}/rounds - list rounds
export const listRoundsHandler = handler(trainingRoutes.listRounds, async ({ params, query }) => {
  const p = await getProjectOrThrow(db(), params.project);
  return { rounds: await listRounds(p.id, { take: query.limit }) };
});

// GET /api/v1/rounds/{id} - one round
export const getRoundHandler = handler(trainingRoutes.getRound, async ({ params }) =>
  getRoundOrThrow(params.id),
);
