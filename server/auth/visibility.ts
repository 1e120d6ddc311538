// What an annotator may see of comparisons and judgments outside their own lease: what the
// annotation UI shows them, no more. Reviewers and admins (of the project) see everything.
//  - never a gold answer, nor whether an item is gold (knowing it lets people answer gold items
//    with care, or with the answer, and inflates the gold accuracy weighted consensus trusts);
//  - no model names (projects are blind), except after their own vote when the project reveals
//    models after a vote (Project.settings.revealModelsAfterVote), as the UI does;
//  - no agreement, no metadata (imports may carry model or answer hints there);
//  - of judgments, only their own, without the gold check's outcome.
import { toSql, type SqlSource } from "@/server/db/sql";
import { parseProjectSettings } from "@/server/projects/schema";
import { atLeast } from "./access";
import type { Role } from "./roles";

interface ComparisonLike {
  id: string;
  projectId: string;
  completions: Array<{ id: string; text: string; model: string | null }>;
  isGold: boolean | null;
  goldAnswer: unknown;
  agreement: number | null;
  metadata: unknown;
}

export function seesEverything(role: Role | null): boolean {
  return atLeast(role, "reviewer");
}

/** Comparisons as the caller may see them (the same objects for reviewers and admins). */
export async function comparisonsFor<T extends ComparisonLike>(
  db: SqlSource,
  viewer: { userId: string; role: Role | null },
  items: T[],
): Promise<T[]> {
  if (seesEverything(viewer.role) || !items.length) return items;
  const sql = toSql(db);
  const projectIds = [...new Set(items.map((c) => c.projectId))];
  const projects = await sql.query<{ id: string; settings: unknown }>(
    `SELECT id, settings FROM "Project" WHERE id = ANY($1::text[])`,
    [projectIds],
  );
  const reveal = new Set(
    projects.filter((p) => parseProjectSettings(p.settings).revealModelsAfterVote).map((p) => p.id),
  );
  const voted = new Set(
    reveal.size
      ? (
          await sql.query<{ comparisonId: string }>(
            `SELECT DISTINCT "comparisonId" FROM "Judgment" WHERE "userId" = $1::text AND "comparisonId" = ANY($2::text[])`,
            [viewer.userId, items.map((c) => c.id)],
          )
        ).map((r) => r.comparisonId)
      : [],
  );
  return items.map((c) => ({
    ...c,
    completions: c.completions.map((x) => ({
      ...x,
      model: reveal.has(c.projectId) && voted.has(c.id) ? x.model : null,
    })),
    isGold: null,
    goldAnswer: null,
    agreement: null,
    metadata: {},
  }));
}

/** A judgment as an annotator sees their own: the gold check's outcome stays on the server. */
export function judgmentFor<J extends { isGoldCheck: boolean | null; goldCorrect: boolean | null }>(
  role: Role | null,
  j: J,
): J {
  return seesEverything(role) ? j : { ...j, isGoldCheck: null, goldCorrect: null };
}
