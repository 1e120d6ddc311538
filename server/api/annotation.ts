// The annotator's loop over REST, for scripts and external labeling front ends: "Next" leases a
// comparison, submit records the judgment (idempotent by key), heartbeat extends the lease, skip
// ends it. Same functions as the web UI's tRPC procedures (server/annotation/queue.ts, submit.ts),
// run through node-postgres (appSql) rather than Prisma: these are the hottest endpoints.
//
// The web process serves these routes itself, before Next.js (server/processes/web.ts, fast
// lane); app/api/v1/** re-exports the same handlers, so they also work under `next start`.
// No "server-only" import: the fast lane runs in plain Node.
import { z } from "zod";
import { appSql, db } from "@/server/db/client";
import { withConnectionRetry } from "@/server/db/sql";
import { DomainError } from "@/server/errors";
import { LabelSchema } from "@/server/projects/schema";
import { heartbeat, leaseNext, skipAssignment, SkipReason } from "@/server/annotation/queue";
import { submitJudgment, SubmitInput } from "@/server/annotation/submit";
import { handler, pathPattern, type RouteDef } from "./http";

const Id = z.string().min(1).max(200);
const ProjectRef = z.object({ project: Id.describe("Project id or slug") });

const AssignmentOut = z.object({
  assignmentId: z.string(),
  comparisonId: z.string(),
  projectId: z.string(),
  prompt: z.object({
    text: z.string().nullable(),
    messages: z.array(z.object({ role: z.string(), content: z.string() })).nullable(),
  }),
  completions: z.array(
    z.object({
      id: z.string(),
      label: z.string().describe("A, B, ... in the order shown"),
      text: z.string(),
    }),
  ),
  labelSchema: LabelSchema,
  leasedAt: z.string(),
  expiresAt: z.string(),
  leaseSeconds: z.number().int(),
});

const LeaseOut = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("assignment"),
    assignment: AssignmentOut,
    resumed: z.boolean().describe("true: the lease you already held"),
  }),
  z.object({ kind: z.literal("empty"), reason: z.enum(["no_items", "all_done"]) }),
]);

const SubmitOut = z.object({
  judgmentId: z.string(),
  duplicate: z
    .boolean()
    .describe("true: this request repeated one already recorded; nothing new was written"),
  revealed: z
    .array(z.object({ label: z.string(), completionId: z.string(), modelName: z.string() }))
    .nullable(),
});

const AssignmentRef = z.object({ assignmentId: Id });

export const annotationRoutes = {
  annotationNext: {
    operationId: "annotationNext",
    method: "POST",
    path: "/projects/{project}/annotation/next",
    summary: "Lease the next comparison to judge (or resume the one you hold)",
    description:
      "Gold items at the project's ratio, then priority, then oldest first; never one you have judged; never more leases + judgments than the project's overlap. The lease expires after the project's leaseSeconds unless extended with a heartbeat.",
    tag: "annotation",
    scope: "write",
    projectFrom: "project",
    params: ProjectRef,
    response: LeaseOut,
  },
  annotationSubmit: {
    operationId: "annotationSubmit",
    method: "POST",
    path: "/annotation/submit",
    summary: "Submit the judgment of a leased comparison (idempotent by idempotencyKey)",
    description:
      "Choices are in terms of what was shown (A, B, ... or completion ids for rankings). Send the same idempotencyKey again (a retry, a double click) and you get the first result back with duplicate: true. A lease that expired answers 410.",
    tag: "annotation",
    scope: "write",
    body: SubmitInput,
    response: SubmitOut,
  },
  annotationHeartbeat: {
    operationId: "annotationHeartbeat",
    method: "POST",
    path: "/annotation/heartbeat",
    summary: "Extend your lease on a comparison",
    tag: "annotation",
    scope: "write",
    body: AssignmentRef,
    response: z.object({ expiresAt: z.string() }),
  },
  annotationSkip: {
    operationId: "annotationSkip",
    method: "POST",
    path: "/annotation/skip",
    summary: "Give a leased comparison back without judging it",
    tag: "annotation",
    scope: "write",
    body: AssignmentRef.extend({
      reason: z.enum(SkipReason).default("other"),
      note: z.string().max(500).optional(),
    }),
    response: z.object({ status: z.literal("skipped") }),
  },
} as const satisfies Record<string, RouteDef>;

// Project ids by id or slug. An id never changes; a renamed slug is seen within a minute.
const PROJECT_REF_TTL_MS = 60_000;
const projectRefs = new Map<string, { id: string; at: number }>();
async function projectId(ref: string): Promise<string> {
  const hit = projectRefs.get(ref);
  if (hit && Date.now() - hit.at < PROJECT_REF_TTL_MS) return hit.id;
  const rows = await appSql().query<{ id: string }>(
    `SELECT id FROM "Project" WHERE id = $1::text OR slug = $1::text ORDER BY (id = $1::text) DESC LIMIT 1`,
    [ref],
  );
  if (!rows[0])
    throw new DomainError(
      "not_found",
      `Project ${ref} does not exist; list projects with GET /api/v1/projects.`,
    );
  projectRefs.set(ref, { id: rows[0].id, at: Date.now() });
  return rows[0].id;
}

export const annotationNextHandler = handler(annotationRoutes.annotationNext, async ({ auth, params }) =>
  leaseNext(appSql(), { projectId: await projectId(params.project), userId: auth!.user.id }),
);

export const annotationSubmitHandler = handler(annotationRoutes.annotationSubmit, async ({ auth, body }) =>
  submitJudgment(appSql(), auth!.user.id, body),
);

// Heartbeat and skip are idempotent (a repeat extends the same lease, or finds it skipped): a
// lost database connection runs them again rather than failing the request.
export const annotationHeartbeatHandler = handler(
  annotationRoutes.annotationHeartbeat,
  async ({ auth, body }) =>
    withConnectionRetry(() => heartbeat(db(), { assignmentId: body.assignmentId, userId: auth!.user.id })),
);

export const annotationSkipHandler = handler(annotationRoutes.annotationSkip, async ({ auth, body }) =>
  withConnectionRetry(() =>
    skipAssignment(db(), {
      assignmentId: body.assignmentId,
      userId: auth!.user.id,
      reason: body.reason,
      note: body.note,
    }),
  ),
);

/** The routes the web process answers before Next.js (server/processes/web.ts). */
export const annotationFastLane: Array<{
  method: string;
  pattern: RegExp;
  handle: (req: Request) => Promise<Response>;
}> = (
  [
    [annotationRoutes.annotationNext, annotationNextHandler],
    [annotationRoutes.annotationSubmit, annotationSubmitHandler],
    [annotationRoutes.annotationHeartbeat, annotationHeartbeatHandler],
    [annotationRoutes.annotationSkip, annotationSkipHandler],
  ] as const
).map(([route, handle]) => ({ method: route.method, pattern: pathPattern(route.path), handle }));
