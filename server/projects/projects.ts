// Projects: create, read, update, archive. A project is addressed by id or by slug everywhere.
// No "server-only" import: the worker, the trainer and the CLI (plain Node processes) call this too.
import { Prisma, type PrismaClient, type Project } from "@prisma/client";
import { z } from "zod";
import { DomainError } from "@/server/errors";
import { LabelSchema, ProjectSettings, parseLabelSchema, parseProjectSettings } from "./schema";

type DbOrTx = PrismaClient | Prisma.TransactionClient;

export const ConsensusRule = z.enum(["majority", "weighted"]);

export const ProjectInput = z.object({
  slug: z
    .string()
    .min(2)
    .max(64)
    .regex(/^[a-z0-9][a-z0-9-]*$/, "lowercase letters, digits and -, starting with a letter or digit"),
  name: z.string().trim().min(1).max(200),
  instructions: z.string().max(100_000).default(""),
  labelSchema: LabelSchema.default({
    kind: "pairwise",
    strength: true,
    allowTie: true,
    allowBothBad: true,
    axes: [],
    rationale: "optional",
    judgeReasoningSeparately: false,
  }),
  /** Judgments wanted per comparison. */
  overlap: z.number().int().min(1).max(50).default(1),
  goldRatio: z.number().min(0).max(1).default(0),
  aiCountsTowardConsensus: z.boolean().default(false),
  consensusRule: ConsensusRule.default("majority"),
  settings: z.record(z.string(), z.unknown()).default({}),
});
export type ProjectInput = z.input<typeof ProjectInput>;

// No defaults here (zod applies a default even inside .partial()): absent fields stay as they are.
export const ProjectPatch = z.object({
  name: z.string().trim().min(1).max(200).optional(),
  instructions: z.string().max(100_000).optional(),
  labelSchema: LabelSchema.optional(),
  overlap: z.number().int().min(1).max(50).optional(),
  goldRatio: z.number().min(0).max(1).optional(),
  aiCountsTowardConsensus: z.boolean().optional(),
  consensusRule: ConsensusRule.optional(),
  /** Merged into the current settings. */
  settings: z.record(z.string(), z.unknown()).optional(),
  archived: z.boolean().optional(),
});
export type ProjectPatch = z.input<typeof ProjectPatch>;

/** A project as the API returns it: JSON columns parsed, defaults filled in. */
export interface ProjectView {
  id: string;
  slug: string;
  name: string;
  instructions: string;
  labelSchema: LabelSchema;
  overlap: number;
  goldRatio: number;
  aiCountsTowardConsensus: boolean;
  consensusRule: "majority" | "weighted";
  settings: ProjectSettings;
  archived: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export function projectView(p: Project): ProjectView {
  return {
    id: p.id,
    slug: p.slug,
    name: p.name,
    instructions: p.instructions,
    labelSchema: parseLabelSchema(p.labelSchema),
    overlap: p.overlap,
    goldRatio: p.goldRatio,
    aiCountsTowardConsensus: p.aiCountsTowardConsensus,
    consensusRule: p.consensusRule === "weighted" ? "weighted" : "majority",
    settings: parseProjectSettings(p.settings),
    archived: p.archived,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}

function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const r = schema.safeParse(input);
  if (!r.success)
    throw new DomainError(
      "bad_request",
      r.error.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`).join("; "),
    );
  return r.data;
}

export async function createProject(db: DbOrTx, input: ProjectInput): Promise<ProjectView> {
  const p = parse(ProjectInput, input);
  try {
    const row = await db.project.create({
      data: {
        slug: p.slug,
        name: p.name,
        instructions: p.instructions,
        labelSchema: p.labelSchema as Prisma.InputJsonValue,
        overlap: p.overlap,
        goldRatio: p.goldRatio,
        aiCountsTowardConsensus: p.aiCountsTowardConsensus,
        consensusRule: p.consensusRule,
        settings: parse(ProjectSettings, p.settings) as Prisma.InputJsonValue,
      },
    });
    return projectView(row);
  } catch (e) {
    if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === "P2002")
      throw new DomainError(
        "conflict",
        `A project with slug "${p.slug}" already exists; choose another slug.`,
      );
    throw e;
  }
}

/**
 * The one lookup of a project by reference (id or slug, as every route and command takes it);
 * null when there is none. With `select`, only those fields.
 */
export function findProjectByRef(db: DbOrTx, ref: string): Promise<Project | null>;
export function findProjectByRef<S extends Prisma.ProjectSelect>(
  db: DbOrTx,
  ref: string,
  select: S,
): Promise<Prisma.ProjectGetPayload<{ select: S }> | null>;
export function findProjectByRef(db: DbOrTx, ref: string, select?: Prisma.ProjectSelect): Promise<unknown> {
  return db.project.findFirst({ where: { OR: [{ id: ref }, { slug: ref }] }, ...(select ? { select } : {}) });
}

export async function getProjectOrThrow(db: DbOrTx, idOrSlug: string): Promise<Project> {
  const p = await findProjectByRef(db, idOrSlug);
  if (!p)
    throw new DomainError(
      "not_found",
      `No project "${idOrSlug}" (by id or slug). List projects with GET /api/v1/projects or \`pairwise projects list\`.`,
    );
  return p;
}

export async function getProject(db: DbOrTx, idOrSlug: string): Promise<ProjectView> {
  return projectView(await getProjectOrThrow(db, idOrSlug));
}

export async function listProjects(
  db: DbOrTx,
  opts: { includeArchived?: boolean } = {},
): Promise<ProjectView[]> {
  const rows = await db.project.findMany({
    where: opts.includeArchived ? {} : { archived: false },
    orderBy: { createdAt: "asc" },
  });
  return rows.map(projectView);
}

export async function updateProject(db: DbOrTx, idOrSlug: string, patch: ProjectPatch): Promise<ProjectView> {
  const current = await getProjectOrThrow(db, idOrSlug);
  const p = parse(ProjectPatch, patch);
  const settings = p.settings
    ? parse(ProjectSettings, { ...(current.settings as object), ...p.settings })
    : undefined;
  const row = await db.project.update({
    where: { id: current.id },
    data: {
      name: p.name,
      instructions: p.instructions,
      labelSchema: p.labelSchema as Prisma.InputJsonValue | undefined,
      overlap: p.overlap,
      goldRatio: p.goldRatio,
      aiCountsTowardConsensus: p.aiCountsTowardConsensus,
      consensusRule: p.consensusRule,
      settings: settings as Prisma.InputJsonValue | undefined,
      archived: p.archived,
    },
  });
  return projectView(row);
}

export async function archiveProject(db: DbOrTx, idOrSlug: string, archived = true): Promise<ProjectView> {
  return updateProject(db, idOrSlug, { archived });
}
