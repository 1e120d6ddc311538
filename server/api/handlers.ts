// REST handlers for /api/v1: each is `(req: Request) => Promise<Response>`, thin: the route's zod
// schemas parse the request (server/api/http.ts), one call into server/data or server/projects
// does the work, DomainErrors become `{ error: { code, message } }` with the matching status.
import "server-only";
import { db } from "@/server/db/client";
import { DomainError } from "@/server/errors";
import { hasRole } from "@/server/auth/roles";
import {
  createProject,
  getProject,
  getProjectOrThrow,
  listProjects,
  updateProject,
} from "@/server/projects/projects";
import {
  createComparison,
  getComparison,
  listComparisons,
  listJudgments,
  listPairs,
} from "@/server/data/comparisons";
import { checkVerdict, checkVerdictAgainstSchema, recordJudgment } from "@/server/data/judgments";
import { parseLabelSchema } from "@/server/projects/schema";
import { getSnapshot, startSnapshot } from "@/server/data/snapshots";
import { exportStream } from "@/server/data/export";
import { getImportJob, importStream, listImportJobs } from "@/server/data/import";
import { clientIp, enforce } from "@/server/auth/rate-limit";
import { errorResponse, handler } from "./http";
import { routes } from "./routes";
import { openApiDocument } from "./openapi";

const r = routes;
const date = (s?: string) => (s ? new Date(s) : undefined);

// GET /api/v1/openapi.json - this API's OpenAPI 3.1 document
export const getOpenApi = handler(r.openapi, async ({ req }) => openApiDocument(new URL(req.url).origin));

// GET /api/v1/projects - list projects
export const listProjectsHandler = handler(r.listProjects, async ({ query }) => ({
  items: await listProjects(db(), { includeArchived: query.archived === "true" }),
}));

// POST /api/v1/projects - create a project (admin)
export const createProjectHandler = handler(r.createProject, async ({ body }) => createProject(db(), body));

// GET /api/v1/projects/{project} - one project
export const getProjectHandler = handler(r.getProject, async ({ params }) =>
  getProject(db(), params.project),
);

// PATCH /api/v1/projects/{project} - change settings (admin)
export const updateProjectHandler = handler(r.updateProject, async ({ params, body }) =>
  updateProject(db(), params.project, body),
);

// POST /api/v1/projects/{project}/import - streamed import; answers with the report when done
export const importHandler = handler(r.importData, async ({ req, params, query, auth }) => {
  await enforce(
    [
      ["import.account", auth!.user.id],
      ["import.ip", clientIp(req.headers)],
    ],
    "imports",
  );
  const project = await getProjectOrThrow(db(), params.project);
  if (!req.body)
    return errorResponse("bad_request", "Send the file as the request body (JSON Lines or a JSON array).");
  const length = Number(req.headers.get("content-length") ?? "");
  const controller = new AbortController();
  req.signal?.addEventListener("abort", () => controller.abort());
  const result = await importStream(req.body, {
    project: project.id,
    fileName: query.fileName,
    bytesTotal: Number.isFinite(length) && length > 0 ? length : undefined,
    createdById: auth?.user.id,
    signal: controller.signal,
  });
  if (result.status === "failed") {
    return Response.json(
      { ...result, error: { code: "bad_request", message: result.error ?? result.report.summary } },
      { status: 422 },
    );
  }
  return result;
});

// GET /api/v1/projects/{project}/imports - recent import jobs, newest first
export const listImportsHandler = handler(r.listImports, async ({ params }) => {
  const p = await getProjectOrThrow(db(), params.project);
  return { items: await listImportJobs(db(), { projectId: p.id }) };
});

// GET /api/v1/imports/{id} - an import job's progress and report
export const getImportHandler = handler(r.getImport, async ({ params }) => getImportJob(db(), params.id));

// GET /api/v1/projects/{project}/export - streamed JSON Lines
export const exportHandler = handler(r.exportData, async ({ params, query }) => {
  const stream = await exportStream({
    project: params.project,
    format: query.format,
    from: date(query.from),
    to: date(query.to),
    snapshotId: query.snapshotId,
    split: query.split,
    minAgreement: query.minAgreement,
    origins: query.origin?.length ? query.origin : undefined,
    conversational: query.conversational === "true" || query.conversational === "1",
  });
  const name = `${params.project}-${query.format}${query.split ? `-${query.split}` : ""}.jsonl`.replace(
    /[^\w.-]/g,
    "_",
  );
  return new Response(stream, {
    headers: {
      "content-type": "application/x-ndjson; charset=utf-8",
      "content-disposition": `attachment; filename="${name}"`,
      "cache-control": "no-store",
    },
  });
});

// GET /api/v1/projects/{project}/comparisons - list comparisons
export const listComparisonsHandler = handler(r.listComparisons, async ({ params, query }) =>
  listComparisons(db(), params.project, query),
);

// POST /api/v1/projects/{project}/comparisons - create a comparison (idempotent by content)
export const createComparisonHandler = handler(r.createComparison, async ({ params, body }) => {
  const out = await createComparison(db(), params.project, body);
  return Response.json(out, { status: out.created ? 201 : 200 });
});

// GET /api/v1/comparisons/{id} - a comparison with its prompt and completions
export const getComparisonHandler = handler(r.getComparison, async ({ params }) =>
  getComparison(db(), params.id),
);

// GET /api/v1/comparisons/{id}/judgments - its judgments
export const listJudgmentsHandler = handler(r.listJudgments, async ({ params, query }) => {
  await getComparison(db(), params.id);
  return listJudgments(db(), {
    comparisonId: params.id,
    includeSuperseded: query.includeSuperseded === "true",
    limit: query.limit,
    cursor: query.cursor,
  });
});

// POST /api/v1/comparisons/{id}/judgments - record a judgment
export const recordJudgmentHandler = handler(r.recordJudgment, async ({ params, body, auth }) => {
  const user = auth!.user;
  let origin;
  if (body.source === "ai") {
    if (!body.judgeConfigId)
      throw new DomainError("bad_request", "An AI judgment needs judgeConfigId (the judge that made it).");
    origin = { kind: "ai" as const, judgeConfigId: body.judgeConfigId, judgeRunId: body.judgeRunId };
  } else if (body.source === "adjudication") {
    if (!hasRole(user, "reviewer"))
      throw new DomainError("forbidden", "Adjudications need the reviewer or admin role.");
    origin = { kind: "adjudication" as const, userId: user.id };
  } else origin = { kind: "human" as const, userId: user.id };
  const target = await db().comparison.findUnique({
    where: { id: params.id },
    select: { completionIds: true, project: { select: { labelSchema: true } } },
  });
  if (!target) throw new DomainError("not_found", `No comparison ${params.id}.`);
  checkVerdict(body.verdict, target.completionIds);
  checkVerdictAgainstSchema(body.verdict, parseLabelSchema(target.project.labelSchema), target.completionIds);
  if (body.supersedesId) {
    const old = await db().judgment.findUnique({
      where: { id: body.supersedesId },
      select: { userId: true },
    });
    if (old && old.userId !== user.id && !hasRole(user, "reviewer"))
      throw new DomainError("forbidden", "You can only correct your own judgments.");
  }
  const out = await recordJudgment(db(), {
    idempotencyKey: body.idempotencyKey,
    comparisonId: params.id,
    origin,
    verdict: body.verdict,
    supersedesId: body.supersedesId,
    rationale: body.rationale,
    confidence: body.confidence,
    displayOrder: body.displayOrder,
    timeSpentMs: body.timeSpentMs,
    ratings: body.ratings,
    flag: body.flag,
    flagReason: body.flagReason,
    metadata: { ...(body.metadata ?? {}), via: "api", tokenId: auth!.tokenId },
  });
  return Response.json(out, { status: out.created ? 201 : 200 });
});

// GET /api/v1/projects/{project}/pairs - preference pairs
export const listPairsHandler = handler(r.listPairs, async ({ params, query }) =>
  listPairs(db(), params.project, {
    active: query.active === "all" ? undefined : query.active !== "false",
    comparisonId: query.comparisonId,
    limit: query.limit,
    cursor: query.cursor,
  }),
);

// POST /api/v1/projects/{project}/snapshots - freeze a snapshot
export const createSnapshotHandler = handler(r.createSnapshot, async ({ params, body }) => {
  const p = await getProjectOrThrow(db(), params.project);
  // A job: answers with the finished snapshot when it is ready within a few seconds, else at once
  // with status "building" (GET /snapshots/{id} follows its progress).
  return startSnapshot(db(), p.id, { ...body, from: date(body.from), to: date(body.to) });
});

// GET /api/v1/snapshots/{id} - a snapshot's hash and counts
export const getSnapshotHandler = handler(r.getSnapshot, async ({ params }) => getSnapshot(db(), params.id));
