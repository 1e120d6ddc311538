// Small builders for annotation tests: a project with N comparisons of two (or K) completions.
import crypto from "node:crypto";
import type { PrismaClient } from "@prisma/client";
import { LabelSchema } from "@/server/projects/schema";

const hash = (s: string) => crypto.createHash("sha256").update(s).digest("hex");

export async function makeUser(
  db: PrismaClient,
  name: string,
  role: "annotator" | "reviewer" | "admin" = "annotator",
) {
  const user = await db.user.create({
    data: { email: `${name.toLowerCase()}-${crypto.randomBytes(3).toString("hex")}@example.com`, name, role },
  });
  // Fixtures' people work on every fixture project (membership tests remove rows they need gone).
  // (Admins administer every project and need no membership.)
  const projects = role === "admin" ? [] : await db.project.findMany({ select: { id: true } });
  await db.projectMember.createMany({
    data: projects.map((p) => ({ projectId: p.id, userId: user.id, role })),
  });
  return user;
}

export interface ProjectFixture {
  projectId: string;
  comparisonIds: string[];
  goldIds: string[];
  /** completion ids per comparison, canonical order */
  completions: Map<string, string[]>;
}

export async function makeProject(
  db: PrismaClient,
  opts: {
    comparisons: number;
    gold?: number;
    overlap?: number;
    goldRatio?: number;
    k?: number;
    labelSchema?: unknown;
    settings?: unknown;
    priorities?: number[];
    models?: string[];
    texts?: (i: number, j: number) => string;
  },
): Promise<ProjectFixture> {
  const slug = `p-${crypto.randomBytes(4).toString("hex")}`;
  const project = await db.project.create({
    data: {
      slug,
      name: `Project ${slug}`,
      labelSchema: LabelSchema.parse(opts.labelSchema ?? { kind: "pairwise" }) as object,
      overlap: opts.overlap ?? 1,
      goldRatio: opts.goldRatio ?? 0,
      settings: (opts.settings ?? {}) as object,
    },
  });
  const people = await db.user.findMany({
    where: { role: { not: "admin" } },
    select: { id: true, role: true },
  });
  await db.projectMember.createMany({
    data: people.map((u) => ({ projectId: project.id, userId: u.id, role: u.role })),
  });
  const k = opts.k ?? 2;
  const models = opts.models ?? ["model-x", "model-y", "model-z", "model-w"];
  const fx: ProjectFixture = {
    projectId: project.id,
    comparisonIds: [],
    goldIds: [],
    completions: new Map(),
  };
  const total = opts.comparisons + (opts.gold ?? 0);
  for (let i = 0; i < total; i++) {
    const isGold = i >= opts.comparisons;
    const text = `Prompt ${i} of ${slug}`;
    const prompt = await db.prompt.create({ data: { projectId: project.id, contentHash: hash(text), text } });
    const ids: string[] = [];
    for (let j = 0; j < k; j++) {
      const t = opts.texts ? opts.texts(i, j) : `Completion ${j} for prompt ${i}`;
      const c = await db.completion.create({
        data: {
          projectId: project.id,
          promptId: prompt.id,
          contentHash: hash(t),
          text: t,
          modelName: models[j % models.length]!,
        },
      });
      ids.push(c.id);
    }
    const comparison = await db.comparison.create({
      data: {
        projectId: project.id,
        promptId: prompt.id,
        completionIds: ids,
        contentHash: hash(`${text}|${ids.join(",")}`),
        isGold,
        goldAnswer: isGold
          ? { kind: "pairwise", outcome: "win", winnerId: ids[0]!, loserId: ids[1]!, strength: 1 }
          : undefined,
        priority: opts.priorities?.[i] ?? 0,
        createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
      },
    });
    fx.completions.set(comparison.id, ids);
    (isGold ? fx.goldIds : fx.comparisonIds).push(comparison.id);
  }
  return fx;
}
