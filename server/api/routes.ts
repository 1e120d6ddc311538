// The REST API's routes under /api/v1, with the zod schemas that validate requests and document
// responses. The OpenAPI document (openapi.ts) is generated from this table.
import { z } from "zod";
import { LabelSchema, ProjectSettings } from "@/server/projects/schema";
import { ProjectInput, ProjectPatch } from "@/server/projects/projects";
import { ComparisonInput, ChatMessageSchema } from "@/server/data/comparisons";
import { Verdict } from "@/server/data/verdict";
import type { RouteDef } from "./http";

const Id = z.string().min(1).max(200);
const ProjectRef = z.object({ project: Id.describe("Project id or slug") });
const IdParam = z.object({ id: Id });
const DateTime = z.string().describe("ISO 8601 date-time");
const isoDate = z.iso.datetime({ offset: true }).or(z.iso.date()).describe("ISO 8601 date or date-time");
const Limit = z.coerce.number().int().min(1).max(1000).optional();
const Cursor = z.string().optional().describe("nextCursor of the previous page");

export const ErrorOut = z.object({
  error: z.object({
    code: z.enum([
      "not_found",
      "forbidden",
      "unauthorized",
      "bad_request",
      "conflict",
      "gone",
      "rate_limited",
      "unavailable",
      "internal",
    ]),
    message: z.string(),
  }),
});

export const ProjectOut = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  instructions: z.string(),
  labelSchema: LabelSchema,
  overlap: z.number().int(),
  goldRatio: z.number(),
  aiCountsTowardConsensus: z.boolean(),
  consensusRule: z.enum(["majority", "weighted"]),
  settings: ProjectSettings,
  archived: z.boolean(),
  createdAt: DateTime,
  updatedAt: DateTime,
});

const ImportReportOut = z.object({
  rows: z.number().int(),
  valid: z.number().int(),
  invalid: z.number().int(),
  duplicates: z.number().int(),
  added: z.object({
    prompts: z.number().int(),
    completions: z.number().int(),
    comparisons: z.number().int(),
    judgments: z.number().int(),
    pairs: z.number().int(),
  }),
  byFormat: z.record(z.string(), z.number().int()),
  errors: z.array(z.object({ line: z.number().int(), reason: z.string() })),
  fatal: z.string().optional(),
  notes: z.array(z.string()),
  summary: z.string(),
});

const ImportJobOut = z.object({
  id: z.string(),
  projectId: z.string().nullable(),
  kind: z.string(),
  fileName: z.string().nullable(),
  status: z.enum(["queued", "running", "succeeded", "failed"]),
  bytesTotal: z.number().nullable(),
  bytesDone: z.number(),
  rowsDone: z.number().int(),
  fraction: z.number().nullable(),
  report: ImportReportOut.partial(),
  error: z.string().nullable(),
  createdById: z.string().nullable(),
  createdAt: DateTime,
  finishedAt: DateTime.nullable(),
});

const ImportResultOut = z.object({
  jobId: z.string(),
  status: z.enum(["succeeded", "failed"]),
  report: ImportReportOut,
  error: z.string().optional(),
});

const Status = z.enum(["open", "complete", "review", "adjudicated", "flagged"]);
export const ComparisonOut = z.object({
  id: z.string(),
  projectId: z.string(),
  status: Status,
  prompt: z.object({
    id: z.string(),
    text: z.string().nullable(),
    messages: z.array(ChatMessageSchema).nullable(),
  }),
  completions: z.array(
    z.object({
      id: z.string(),
      text: z.string(),
      model: z.string().nullable().describe("null for annotators: projects are blind"),
    }),
  ),
  isGold: z.boolean().nullable().describe("null for annotators"),
  goldAnswer: Verdict.nullable().describe("null for annotators"),
  priority: z.number(),
  judgmentCount: z.number().int(),
  agreement: z.number().nullable(),
  source: z.string(),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: DateTime,
  completedAt: DateTime.nullable(),
});

const PairOut = z.object({
  id: z.string(),
  projectId: z.string(),
  comparisonId: z.string(),
  promptId: z.string(),
  chosenId: z.string(),
  rejectedId: z.string(),
  margin: z.number(),
  weight: z.number(),
  agreement: z.number(),
  judgmentIds: z.array(z.string()),
  origin: z.enum(["human", "ai", "mixed", "import"]),
  active: z.boolean(),
  retiredAt: DateTime.nullable(),
  createdAt: DateTime,
});

export const JudgmentOut = z.object({
  id: z.string(),
  idempotencyKey: z.string(),
  projectId: z.string(),
  comparisonId: z.string(),
  source: z.enum(["human", "ai", "import", "adjudication"]),
  userId: z.string().nullable(),
  judgeConfigId: z.string().nullable(),
  judgeRunId: z.string().nullable(),
  assignmentId: z.string().nullable(),
  verdict: Verdict,
  rationale: z.string().nullable(),
  ratings: z.record(z.string(), z.record(z.string(), z.number())).nullable(),
  flag: z.string().nullable(),
  displayOrder: z.array(z.string()),
  timeSpentMs: z.number().int().nullable(),
  confidence: z.number().nullable(),
  isGoldCheck: z.boolean().nullable().describe("null for annotators"),
  goldCorrect: z.boolean().nullable(),
  supersedesId: z.string().nullable(),
  supersededAt: DateTime.nullable(),
  createdAt: DateTime,
});

const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

export const JudgmentInput = z.object({
  /** Chosen by the client, unique per submission: a retry with the same key returns the first result. */
  idempotencyKey: z.string().min(1).max(200),
  verdict: Verdict,
  /** human (default: the token's user, through the queue), ai (only tokens issued for a judge) or adjudication (reviewers and admins). */
  source: z.enum(["human", "ai", "adjudication"]).default("human"),
  judgeConfigId: z.string().min(1).optional(),
  judgeRunId: z.string().min(1).optional(),
  supersedesId: z.string().min(1).optional(),
  rationale: z.string().max(20_000).optional(),
  confidence: z.number().min(0).max(1).optional(),
  displayOrder: z.array(z.string()).optional(),
  timeSpentMs: z.number().int().min(0).optional(),
  ratings: z.record(z.string(), z.record(z.string(), z.number())).optional(),
  flag: z.enum(["unsafe", "private", "broken"]).optional(),
  flagReason: z.string().max(2000).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

const JudgmentResultOut = z.object({
  judgment: JudgmentOut,
  created: z.boolean(),
  comparison: z.object({
    id: z.string(),
    status: Status,
    judgmentCount: z.number().int(),
    agreement: z.number().nullable(),
    completedAt: DateTime.nullable(),
  }),
});

export const SnapshotInput = z.object({
  from: isoDate.optional(),
  to: isoDate.optional(),
  minAgreement: z.number().min(0).max(1).optional(),
  origins: z
    .array(z.enum(["human", "ai", "mixed", "import"]))
    .min(1)
    .optional(),
  validationFraction: z.number().min(0).max(1).optional(),
  seed: z.string().max(200).optional(),
});

const SnapshotOut = z.object({
  id: z.string(),
  projectId: z.string(),
  /** building: a job is still choosing and hashing the pairs (hash empty); ready; failed (see error). */
  status: z.enum(["building", "ready", "failed"]),
  /** Pairs hashed so far while building, of pairCount. */
  pairsDone: z.number().int(),
  error: z.string().nullable(),
  hash: z.string(),
  pairCount: z.number().int(),
  trainCount: z.number().int(),
  validationCount: z.number().int(),
  testCount: z.number().int(),
  filter: z.record(z.string(), z.unknown()),
  createdAt: DateTime,
});

export const ExportQuery = z.object({
  format: z.enum(["trl", "kto", "hh", "votes"]).default("trl"),
  from: isoDate.optional(),
  to: isoDate.optional(),
  snapshotId: z.string().optional(),
  split: z.enum(["train", "validation", "test"]).optional(),
  minAgreement: z.coerce.number().min(0).max(1).optional(),
  origin: z
    .array(z.enum(["human", "ai", "mixed", "import", "adjudication"]))
    .optional()
    .describe("comma list or repeated: human, ai, mixed, import"),
  conversational: z.enum(["true", "false", "1", "0"]).optional(),
});

export const ImportQuery = z.object({ fileName: z.string().max(300).optional() });

export const routes = {
  openapi: {
    operationId: "getOpenApi",
    method: "GET",
    path: "/openapi.json",
    summary: "This API's OpenAPI 3.1 document",
    tag: "meta",
    scope: null,
    response: z.record(z.string(), z.unknown()),
  },
  listProjects: {
    operationId: "listProjects",
    method: "GET",
    path: "/projects",
    summary: "List projects",
    tag: "projects",
    scope: "read",
    query: z.object({ archived: z.enum(["true", "false"]).optional() }),
    response: z.object({ items: z.array(ProjectOut) }),
  },
  createProject: {
    operationId: "createProject",
    method: "POST",
    path: "/projects",
    summary: "Create a project",
    tag: "projects",
    scope: "admin",
    role: "admin",
    body: ProjectInput,
    response: ProjectOut,
    status: 201,
  },
  getProject: {
    operationId: "getProject",
    method: "GET",
    path: "/projects/{project}",
    summary: "Get a project",
    tag: "projects",
    scope: "read",
    projectFrom: "project",
    params: ProjectRef,
    response: ProjectOut,
  },
  updateProject: {
    operationId: "updateProject",
    method: "PATCH",
    path: "/projects/{project}",
    summary: "Change a project's settings (settings are merged)",
    tag: "projects",
    scope: "admin",
    projectFrom: "project",
    role: "admin",
    params: ProjectRef,
    body: ProjectPatch,
    response: ProjectOut,
  },
  importData: {
    operationId: "importData",
    method: "POST",
    path: "/projects/{project}/import",
    summary: "Import prompts, completions, comparisons and preferences (streamed)",
    description:
      "Send the file as the request body: JSON Lines (application/x-ndjson) or a JSON array (application/json), optionally gzip-compressed. Rows are detected per line: {prompt}, {prompt, completions[, ranking]}, TRL {prompt, chosen, rejected} (strings or conversations), HH-RLHF {chosen, rejected} transcripts, OpenAI {messages} and {input, preferred_output, non_preferred_output}. Re-importing adds nothing. Responds when the import is done, with the report (counts, and bad lines with their line number and reason); meanwhile its progress shows in GET /projects/{project}/imports (newest first).",
    tag: "data",
    scope: "write",
    projectFrom: "project",
    role: "admin",
    params: ProjectRef,
    query: ImportQuery,
    body: {
      stream: ["application/x-ndjson", "application/jsonl", "application/json", "application/gzip"],
      description: "JSON Lines or a JSON array, optionally gzip-compressed",
    },
    response: ImportResultOut,
  },
  listImports: {
    operationId: "listImports",
    method: "GET",
    path: "/projects/{project}/imports",
    summary: "Recent import jobs of a project, newest first",
    tag: "data",
    scope: "read",
    projectFrom: "project",
    role: "reviewer",
    params: ProjectRef,
    response: z.object({ items: z.array(ImportJobOut) }),
  },
  getImport: {
    operationId: "getImport",
    method: "GET",
    path: "/imports/{id}",
    summary: "An import job's progress and report",
    tag: "data",
    scope: "read",
    projectFrom: "import",
    role: "reviewer",
    params: IdParam,
    response: ImportJobOut,
  },
  exportData: {
    operationId: "exportData",
    method: "GET",
    path: "/projects/{project}/export",
    summary: "Export preference data as JSON Lines (streamed)",
    description:
      "format=trl: TRL {prompt, chosen, rejected} (+ margin, weight, agreement, chosen_model, rejected_model, comparison_id, pair_id, judgment_ids, source, created_at, split); kto: TRL unpaired {prompt, completion, label}; hh: HH-RLHF {chosen, rejected} transcripts; votes: every judgment. The rows are one consistent read (a snapshot id reads frozen rows).",
    tag: "data",
    scope: "read",
    projectFrom: "project",
    role: "reviewer",
    params: ProjectRef,
    query: ExportQuery,
    response: { stream: "application/x-ndjson", description: "one JSON object per line" },
  },
  listComparisons: {
    operationId: "listComparisons",
    method: "GET",
    path: "/projects/{project}/comparisons",
    summary: "List a project's comparisons",
    tag: "comparisons",
    scope: "read",
    projectFrom: "project",
    params: ProjectRef,
    query: z.object({ status: Status.optional(), limit: Limit, cursor: Cursor }),
    response: page(ComparisonOut),
  },
  createComparison: {
    operationId: "createComparison",
    method: "POST",
    path: "/projects/{project}/comparisons",
    summary: "Create a comparison of 2..K completions of a prompt (idempotent by content)",
    tag: "comparisons",
    scope: "write",
    projectFrom: "project",
    role: "admin",
    params: ProjectRef,
    body: ComparisonInput,
    response: z.object({ comparison: ComparisonOut, created: z.boolean() }),
  },
  getComparison: {
    operationId: "getComparison",
    method: "GET",
    path: "/comparisons/{id}",
    summary: "Get a comparison with its prompt and completions",
    tag: "comparisons",
    scope: "read",
    projectFrom: "comparison",
    params: IdParam,
    response: ComparisonOut,
  },
  listJudgments: {
    operationId: "listJudgments",
    method: "GET",
    path: "/comparisons/{id}/judgments",
    summary: "A comparison's judgments",
    tag: "judgments",
    scope: "read",
    projectFrom: "comparison",
    params: IdParam,
    query: z.object({
      includeSuperseded: z.enum(["true", "false"]).optional(),
      limit: Limit,
      cursor: Cursor,
    }),
    response: page(JudgmentOut),
  },
  recordJudgment: {
    operationId: "recordJudgment",
    method: "POST",
    path: "/comparisons/{id}/judgments",
    summary: "Record a judgment (idempotent by idempotencyKey); the comparison is re-aggregated",
    tag: "judgments",
    scope: "write",
    projectFrom: "comparison",
    params: IdParam,
    body: JudgmentInput,
    response: JudgmentResultOut,
  },
  listPairs: {
    operationId: "listPairs",
    method: "GET",
    path: "/projects/{project}/pairs",
    summary: "A project's preference pairs (active ones by default)",
    tag: "pairs",
    scope: "read",
    projectFrom: "project",
    role: "reviewer",
    params: ProjectRef,
    query: z.object({
      active: z.enum(["true", "false", "all"]).optional(),
      comparisonId: z.string().optional(),
      limit: Limit,
      cursor: Cursor,
    }),
    response: page(PairOut),
  },
  createSnapshot: {
    operationId: "createSnapshot",
    method: "POST",
    path: "/projects/{project}/snapshots",
    summary: "Freeze the active pairs into a hashed snapshot, split by prompt",
    tag: "pairs",
    scope: "write",
    projectFrom: "project",
    role: "admin",
    params: ProjectRef,
    body: SnapshotInput,
    response: SnapshotOut,
    status: 201,
  },
  getSnapshot: {
    operationId: "getSnapshot",
    method: "GET",
    path: "/snapshots/{id}",
    summary: "A snapshot's hash and counts",
    tag: "pairs",
    scope: "read",
    projectFrom: "snapshot",
    role: "reviewer",
    params: IdParam,
    response: SnapshotOut,
  },
} as const satisfies Record<string, RouteDef>;
