// Unattended labeling of a round's comparisons, for demos and benchmarks (settings.labeling):
//  - the rule judge: a judge run of the project's rule judge (the mini-R1 checker), created and
//    executed here through server/judges, so its judgments carry the run and judge version;
//  - simulated annotators: accounts "sim-annotator-N@pairwise.local" (no password: nobody signs
//    in as them) that judge by the gold answer and flip each verdict with probability `noise`.
// Both write through recordJudgment with fixed idempotency keys, so a resumed round adds nothing
// twice. Whether AI judgments count toward consensus is the project's setting, as always.
import crypto from "node:crypto";
import { db } from "@/server/db/client";
import { recordJudgment } from "@/server/data/judgments";
import type { Verdict } from "@/server/data/verdict";
import { createJudgeConfig } from "@/server/judges/config";
import { createJudgeRun } from "@/server/judges/runs";
import { executeJudgeRun } from "@/server/judges/runner";
import type { RoundContext } from "./context";
import { goldRewardOf } from "./task";

export const RULE_JUDGE_NAME = "Rule judge (mini-R1 answer check)";

/** The project's rule judge: an active one of the project (or a shared one), else a new one. */
export async function ruleJudgeFor(projectId: string): Promise<string> {
  const existing = await db().judgeConfig.findFirst({
    where: { kind: "rule", active: true, OR: [{ projectId }, { projectId: null }] },
    orderBy: [{ projectId: { sort: "desc", nulls: "last" } }, { createdAt: "asc" }],
    select: { id: true },
  });
  if (existing) return existing.id;
  const created = await createJudgeConfig({
    projectId,
    name: RULE_JUDGE_NAME,
    kind: "rule",
    positionSwap: false,
    concurrency: 4,
  });
  return created.id;
}

/** Deterministic uniform [0, 1) from a key. */
function unit(key: string): number {
  return crypto.createHash("sha256").update(key).digest().readUInt32BE(0) / 2 ** 32;
}

/** A simulated annotator's verdict: the gold answer's, flipped with probability `noise`. */
export function simulatedVerdict(
  ids: readonly [string, string],
  rewards: readonly [number, number],
  noise: number,
  key: string,
  allowBothBad: boolean,
): Verdict {
  const [a, b] = ids;
  const [rA, rB] = rewards;
  if (rA === rB)
    return rA === 0 && allowBothBad
      ? { kind: "pairwise", outcome: "both_bad" }
      : { kind: "pairwise", outcome: "tie" };
  let aWins = rA > rB;
  if (unit(key) < noise) aWins = !aWins;
  return aWins
    ? { kind: "pairwise", outcome: "win", winnerId: a, loserId: b, strength: 1 }
    : { kind: "pairwise", outcome: "win", winnerId: b, loserId: a, strength: 1 };
}

async function simulatedAnnotators(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 1; i <= n; i++) {
    const email = `sim-annotator-${i}@pairwise.local`;
    const u = await db().user.upsert({
      where: { email },
      update: {},
      create: { email, name: `Simulated annotator ${i}`, role: "annotator" },
      select: { id: true },
    });
    ids.push(u.id);
  }
  return ids;
}

/** Labels the round's comparisons (and other open ones of the project) as the settings say. */
export async function labelComparisons(
  ctx: RoundContext,
  roundComparisonIds: readonly string[],
): Promise<Record<string, unknown>> {
  const l = ctx.settings.labeling;
  if (!l.ruleJudge && l.simulatedAnnotators === 0) return { mode: "queues" };
  const open = await db().comparison.findMany({
    where: {
      projectId: ctx.project.id,
      status: "open",
      isGold: false,
      NOT: { id: { in: [...roundComparisonIds] } },
    },
    select: { id: true },
    orderBy: [{ priority: "desc" }, { createdAt: "asc" }],
    take: 2000,
  });
  const ids = [...roundComparisonIds, ...open.map((c) => c.id)];
  const out: Record<string, unknown> = { comparisons: ids.length };
  if (l.ruleJudge && ids.length) {
    const judgeConfigId = await ruleJudgeFor(ctx.project.id);
    const run = await createJudgeRun({
      judgeConfigId,
      projectId: ctx.project.id,
      selection: { comparisonIds: ids, statuses: ["open", "complete", "review"] },
    });
    if (run.status === "queued")
      await executeJudgeRun(run.id, { signal: ctx.opts.signal, log: (m) => ctx.log(`rule judge: ${m}`) });
    const done = await db().judgeRun.findUnique({
      where: { id: run.id },
      select: { done: true, failed: true, status: true },
    });
    out["ruleJudge"] = {
      runId: run.id,
      status: done?.status,
      judged: done?.done ?? 0,
      failed: done?.failed ?? 0,
    };
    ctx.checkStop();
  }
  if (l.simulatedAnnotators > 0 && ids.length) {
    const users = await simulatedAnnotators(l.simulatedAnnotators);
    const allowBothBad =
      ((ctx.project.labelSchema ?? {}) as { allowBothBad?: boolean }).allowBothBad !== false;
    const comps = await db().comparison.findMany({
      where: { id: { in: ids } },
      select: { id: true, completionIds: true, prompt: { select: { metadata: true } } },
    });
    const texts = new Map(
      (
        await db().completion.findMany({
          where: { id: { in: comps.flatMap((c) => c.completionIds) } },
          select: { id: true, text: true },
        })
      ).map((c) => [c.id, c.text]),
    );
    let written = 0;
    let skipped = 0;
    for (const c of comps) {
      ctx.checkStop();
      if (c.completionIds.length !== 2) {
        skipped++;
        continue;
      }
      const [a, b] = c.completionIds as [string, string];
      const ga = await goldRewardOf(c.prompt.metadata, texts.get(a) ?? "");
      const gb = await goldRewardOf(c.prompt.metadata, texts.get(b) ?? "");
      if (!ga || !gb) {
        skipped++;
        continue;
      }
      for (const userId of users) {
        const key = `sim:${userId}:${c.id}`;
        const verdict = simulatedVerdict([a, b], [ga.reward, gb.reward], l.noise, key, allowBothBad);
        const r = await recordJudgment(db(), {
          idempotencyKey: key,
          comparisonId: c.id,
          origin: { kind: "human", userId },
          verdict,
          displayOrder: [a, b],
          metadata: { simulated: true, noise: l.noise, roundId: ctx.id },
        });
        if (r.created) written++;
      }
    }
    out["simulated"] = { annotators: users.length, noise: l.noise, judgments: written, skipped };
  }
  const pairs = await db().preferencePair.count({
    where: { projectId: ctx.project.id, active: true, comparisonId: { in: ids } },
  });
  out["pairs"] = pairs;
  return out;
}
