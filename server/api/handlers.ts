// REST handlers for /api/v1: each is `(req: Request) => Promise<Response>`, thin: the route's zod
// schemas parse the request (server/api/http.ts), one call into server/data or server/projects
// does the work, DomainErrors become `{ error: { code, message } }` with the matching status.
import "server-only";
import { appSql, db } from "@/server/db/client";
import { projectIdsWithRole } from "@/server/auth/access";
import { comparisonsFor, judgmentFor, seesEverything } from "@/server/auth/visibility";
import { recordRestJudgment } from "@/server/annotation/rest-judgment";
import { audit } from "@/server/audit/audit";
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

// GET /api/v1/projects - the projects the caller is a member of (admins: all)
export const listProjectsHandler = handler(r.listProjects, async ({ query, auth }) => {
  const items = await listProjects(db(), { includeArchived: query.archived === "true" });
  const mine = await projectIdsWithRole(auth!.user);
  return { items: mine === "all" ? items : items.filter((p) => mine.includes(p.id)) };
});

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
export const exportHandler = handler(r.exportData, async ({ params, query, auth, access }) => {
  // Audited first: the stream holds its own consistent read open until it is consumed.
  await audit(db(), {
    actorId: auth!.user.id,
    action: "export.run",
    target: access.projectId,
    data: { via: "api", tokenId: auth!.tokenId, format: query.format, snapshotId: query.snapshotId ?? null },
  });
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
export const listComparisonsHandler = handler(r.listComparisons, async ({ params, query, auth, access }) => {
  const page = await listComparisons(db(), params.project, query);
  return {
    ...page,
    items: await comparisonsFor(db(), { userId: auth!.user.id, role: access.role }, page.items),
  };
});

// POST /api/v1/projects/{project}/comparisons - create a comparison (idempotent by content)
export const createComparisonHandler = handler(r.createComparison, async ({ params, body }) => {
  const out = await createComparison(db(), params.project, body);
  return Response.json(out, { status: out.created ? 201 : 200 });
});

// GET /api/v1/comparisons/{id} - a comparison with its prompt and completions
export const getComparisonHandler = handler(r.getComparison, async ({ params, auth, access }) => {
  const c = await getComparison(db(), params.id);
  return (await comparisonsFor(db(), { userId: auth!.user.id, role: access.role }, [c]))[0];
});

// GET /api/v1/comparisons/{id}/judgments - its judgments (annotators: only their own)
export const listJudgmentsHandler = handler(r.listJudgments, async ({ params, query, auth, access }) => {
  await getComparison(db(), params.id);
  const page = await listJudgments(db(), {
    comparisonId: params.id,
    userId: seesEverything(access.role) ? undefined : auth!.user.id,
    includeSuperseded: query.includeSuperseded === "true",
    limit: query.limit,
    cursor: query.cursor,
  });
  return { ...page, items: page.items.map((j) => judgmentFor(access.role, j)) };
});

// POST /api/v1/comparisons/{id}/judgments - record a judgment, under the queue's rules
// (server/annotation/rest-judgment.ts)
export const recordJudgmentHandler = handler(r.recordJudgment, async ({ params, body, auth, access }) => {
  if (!access.role) await getComparison(db(), params.id); // 404 for an unknown comparison
  const out = await recordRestJudgment(
    {
      user: auth!.user,
      projectRole: access.role!,
      tokenId: auth!.tokenId,
      judgeConfigId: auth!.judgeConfigId,
    },
    params.id,
    body,
    { sql: appSql() },
  );
  const shown = seesEverything(access.role)
    ? out
    : {
        ...out,
        judgment: judgmentFor(access.role, out.judgment),
        comparison: { ...out.comparison, agreement: null },
      };
  return Response.json(shown, { status: out.created ? 201 : 200 });
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
