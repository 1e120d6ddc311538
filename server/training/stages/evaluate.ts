// Stages 4 and 5: evaluation on held-out prompts, and the promotion gate.
//
// Evaluation of a policy checkpoint = its greedy completions of the held-out prompts (split
// "test"; "validation" when the project has no test prompts), stored on the checkpoint
// (metrics.eval) so each checkpoint is generated once and later rounds rate against it. From them:
//  - gold reward / accuracy / format rate where prompts carry a known answer (mini-R1);
//  - win rate over the previous policy, judged by the newest reward model (ties count half);
//  - KL to the reference, sequence level, from completions sampled from the new policy:
//    KL(π‖π_ref) ≈ mean over samples y ~ π of [log π(y|x) − log π_ref(y|x)];
//  - a Bradley-Terry rating (server/stats) of every evaluated checkpoint of the project, from
//    per-prompt battles judged by gold reward (or the reward model when there is no gold).
import type { GateDecision } from "../outcome";
import { createHash } from "node:crypto";
import type { Checkpoint, Prisma } from "@prisma/client";
import { audit } from "../../audit/audit";
import {
  completionLogProbs,
  disposeModel,
  generateBatch,
  scoreRewards,
  type BpeTokenizer,
  type GenerateResult,
  type GPTModel,
} from "@/trainer";
import { db } from "@/server/db/client";
import { bradleyTerryLeaderboard, type Battle } from "@/server/stats";
import type { RoundContext } from "../context";
import { loadModel, trainerPrompt, type TrainerPrompt } from "../models";
import { goldRewardOf } from "../task";
import { storableText } from "../../judges/content";
import { envMetrics, evaluateEnvironments } from "../env-eval";

interface HeldOutPrompt {
  id: string;
  prompt: TrainerPrompt;
  metadata: unknown;
}

export interface CheckpointEval {
  heldOutKey: string;
  n: number;
  goldN: number;
  goldAccuracy: number | null;
  goldReward: number | null;
  formatRate: number | null;
  samples: Array<{ promptId: string; text: string; gold: number | null }>;
}

async function heldOutPrompts(
  ctx: RoundContext,
): Promise<{ prompts: HeldOutPrompt[]; split: string; key: string }> {
  const take = ctx.settings.evaluation.prompts;
  for (const split of ["test", "validation"] as const) {
    const rows = await db().prompt.findMany({
      where: { projectId: ctx.project.id, split },
      orderBy: [{ contentHash: "asc" }, { id: "asc" }],
      take,
      select: { id: true, text: true, messages: true, metadata: true },
    });
    if (rows.length) {
      const key = createHash("sha256")
        .update(`${ctx.settings.evaluation.maxTokens}|${rows.map((r) => r.id).join(",")}`)
        .digest("hex")
        .slice(0, 16);
      return {
        prompts: rows.map((r) => ({ id: r.id, prompt: trainerPrompt(r), metadata: r.metadata })),
        split,
        key,
      };
    }
  }
  return { prompts: [], split: "none", key: "none" };
}

function storedEval(c: Checkpoint, key: string): CheckpointEval | null {
  const e = ((c.metrics ?? {}) as { eval?: CheckpointEval }).eval;
  return e && e.heldOutKey === key ? e : null;
}

/** Greedy completions of the held-out prompts by a checkpoint, scored by gold reward; cached on the row. */
async function evaluateCheckpoint(
  ctx: RoundContext,
  c: Checkpoint,
  held: { prompts: HeldOutPrompt[]; key: string },
): Promise<CheckpointEval> {
  const cached = storedEval(c, held.key);
  if (cached) return cached;
  const { model, tokenizer } = await loadModel(ctx.opts.checkpointRoot, c, "policy");
  try {
    const samples: CheckpointEval["samples"] = [];
    let goldN = 0;
    let correct = 0;
    let reward = 0;
    let fmt = 0;
    // greedy answers, 64 prompts at a time (one batch on the GPU with the cuda backend)
    let done: GenerateResult[] = [];
    for (const [i, p] of held.prompts.entries()) {
      ctx.checkStop();
      if (i % 64 === 0)
        done = await generateBatch(
          model,
          tokenizer,
          held.prompts.slice(i, i + 64).map((x) => x.prompt),
          { maxTokens: ctx.settings.evaluation.maxTokens, temperature: 0 },
        );
      const g = done[i % 64] as GenerateResult;
      const gold = await goldRewardOf(p.metadata, g.text);
      if (gold) {
        goldN++;
        correct += gold.correct ? 1 : 0;
        reward += gold.reward;
        fmt += gold.formatOk ? 1 : 0;
      }
      samples.push({ promptId: p.id, text: storableText(g.text), gold: gold?.reward ?? null });
      await ctx.progress({
        stage: "evaluate",
        step: i + 1,
        totalSteps: held.prompts.length,
        message: `generating held-out answers of ${c.name}`,
      });
    }
    const ev: CheckpointEval = {
      heldOutKey: held.key,
      n: samples.length,
      goldN,
      goldAccuracy: goldN ? correct / goldN : null,
      goldReward: goldN ? reward / goldN : null,
      formatRate: goldN ? fmt / goldN : null,
      samples,
    };
    const fresh = await db().checkpoint.findUniqueOrThrow({ where: { id: c.id }, select: { metrics: true } });
    await db().checkpoint.update({
      where: { id: c.id },
      data: {
        metrics: { ...((fresh.metrics ?? {}) as object), eval: ev } as unknown as Prisma.InputJsonValue,
      },
    });
    return ev;
  } finally {
    disposeModel(model);
  }
}

async function rewardScoresOf(
  rm: GPTModel,
  tok: BpeTokenizer,
  prompts: Map<string, TrainerPrompt>,
  samples: CheckpointEval["samples"],
): Promise<number[]> {
  return scoreRewards(
    rm,
    tok,
    samples.map((s) => ({ prompt: prompts.get(s.promptId) ?? "", completion: s.text })),
  );
}

export async function evaluateStage(ctx: RoundContext): Promise<Record<string, unknown>> {
  const s = ctx.settings;
  const own = await ctx.ownCheckpoint("policy");
  const candidate = own ?? (await ctx.currentPolicy());
  if (!candidate) throw new Error("no policy checkpoint to evaluate");
  const previous = own?.parentId ? await ctx.checkpointById(own.parentId) : null;
  const held = await heldOutPrompts(ctx);
  if (!held.prompts.length)
    return {
      checkpointId: candidate.id,
      skipped: "the project has no held-out prompts (split test or validation)",
    };
  const promptById = new Map(held.prompts.map((p) => [p.id, p.prompt]));

  const ev = await evaluateCheckpoint(ctx, candidate, held);
  const prevEv = previous ? await evaluateCheckpoint(ctx, previous, held) : null;

  // Reward model: this round's, else the project's newest.
  const rmRow = (await ctx.ownCheckpoint("reward")) ?? (await ctx.previousReward());
  let rm: { model: GPTModel; tokenizer: BpeTokenizer } | null = rmRow
    ? await loadModel(ctx.opts.checkpointRoot, rmRow, "reward")
    : null;
  try {
    // Win rate over the previous policy, by the reward model, on the same prompts.
    let winRate: number | null = null;
    if (rm && prevEv) {
      await ctx.progress({ stage: "evaluate", message: "reward-model win rate" }, true);
      const a = await rewardScoresOf(rm.model, rm.tokenizer, promptById, ev.samples);
      const b = await rewardScoresOf(rm.model, rm.tokenizer, promptById, prevEv.samples);
      let w = 0;
      for (let i = 0; i < a.length; i++)
        w += (a[i] as number) > (b[i] as number) ? 1 : (a[i] as number) === (b[i] as number) ? 0.5 : 0;
      winRate = a.length ? w / a.length : null;
    }

    // KL to the reference, from samples of the new policy.
    let kl: number | null = null;
    const refId = own
      ? (((own.metrics ?? {}) as { referenceCheckpointId?: string }).referenceCheckpointId ?? own.parentId)
      : null;
    if (own && refId) {
      await ctx.progress({ stage: "evaluate", message: "KL to the reference" }, true);
      const pol = await loadModel(ctx.opts.checkpointRoot, own, "policy");
      const ref = await loadModel(ctx.opts.checkpointRoot, await ctx.checkpointById(refId), "policy");
      try {
        const items: Array<{ prompt: TrainerPrompt; completion: string }> = [];
        ctx.checkStop();
        const klPrompts = Array.from(
          { length: s.evaluation.klSamples },
          (_, i) => (held.prompts[i % held.prompts.length] as HeldOutPrompt).prompt,
        );
        const gens = await generateBatch(pol.model, pol.tokenizer, klPrompts, {
          maxTokens: s.evaluation.maxTokens,
          temperature: 1,
          seeds: klPrompts.map((_, i) => 7919 * (i + 1) + ctx.round.number),
        });
        gens.forEach((g, i) => items.push({ prompt: klPrompts[i] as TrainerPrompt, completion: g.text }));
        const lp = await completionLogProbs(pol.model, pol.tokenizer, items);
        const lr = await completionLogProbs(ref.model, ref.tokenizer, items);
        kl = lp.reduce((acc, v, i) => acc + (v - (lr[i] as number)), 0) / Math.max(1, lp.length);
      } finally {
        disposeModel(pol.model);
        disposeModel(ref.model);
      }
    }

    // Bradley-Terry over every evaluated policy checkpoint of the project (newest 12).
    const all = await db().checkpoint.findMany({
      where: { projectId: ctx.project.id, kind: { in: ["sft", "policy"] } },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: 12,
    });
    const rated = all
      .map((c) => ({ c, e: c.id === candidate.id ? ev : storedEval(c, held.key) }))
      .filter((x): x is { c: Checkpoint; e: CheckpointEval } => x.e !== null);
    const useGold = ev.goldN > 0;
    const scores = new Map<string, Map<string, number>>();
    for (const { c, e } of rated) {
      let vals: number[];
      if (useGold) vals = e.samples.map((x) => x.gold ?? 0);
      else if (rm) vals = await rewardScoresOf(rm.model, rm.tokenizer, promptById, e.samples);
      else continue;
      scores.set(c.id, new Map(e.samples.map((x, i) => [x.promptId, vals[i] as number])));
    }
    const battles: Battle[] = [];
    const ids = [...scores.keys()];
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) {
        const A = scores.get(ids[i] as string) as Map<string, number>;
        const B = scores.get(ids[j] as string) as Map<string, number>;
        for (const [pid, va] of A) {
          const vb = B.get(pid);
          if (vb === undefined) continue;
          battles.push({
            a: ids[i] as string,
            b: ids[j] as string,
            winner: va > vb ? "a" : vb > va ? "b" : "tie",
          });
        }
      }
    }
    let leaderboard: Array<{
      checkpointId: string;
      name: string;
      rating: number;
      lower: number;
      upper: number;
    }> = [];
    let rating: number | null = null;
    if (ids.length >= 2 && battles.length) {
      const lb = bradleyTerryLeaderboard(battles, { rounds: 100, seed: 42 });
      const names = new Map(rated.map(({ c }) => [c.id, c.name]));
      leaderboard = lb.rows.map((r) => ({
        checkpointId: r.source,
        name: names.get(r.source) ?? r.source,
        rating: r.rating,
        lower: r.lower,
        upper: r.upper,
      }));
      rating = lb.fit.ratingBySource[candidate.id] ?? null;
    }

    const environments = await evaluateEnvironments(ctx, candidate, {
      n: ev.goldN,
      accuracy: ev.goldAccuracy,
      formatRate: ev.formatRate,
    });
    const out = {
      checkpointId: candidate.id,
      checkpointName: candidate.name,
      previousCheckpointId: previous?.id ?? null,
      heldOut: ev.n,
      heldOutSplit: held.split,
      goldAccuracy: ev.goldAccuracy,
      goldReward: ev.goldReward,
      formatRate: ev.formatRate,
      prevGoldAccuracy: prevEv?.goldAccuracy ?? null,
      prevGoldReward: prevEv?.goldReward ?? null,
      winRate,
      winRateJudge: rmRow?.name ?? null,
      kl,
      rating,
      leaderboard,
      examples: ev.samples.slice(0, 3),
      environments, // every environment's held-out score of this checkpoint
    };
    ctx.metric("evaluate", ctx.round.number, {
      gold_accuracy: ev.goldAccuracy ?? undefined,
      gold_reward: ev.goldReward ?? undefined,
      format_rate: ev.formatRate ?? undefined,
      win_rate: winRate ?? undefined,
      kl: kl ?? undefined,
      rating: rating ?? undefined,
      ...envMetrics(environments),
    });
    await ctx.flushMetrics();
    return out;
  } finally {
    if (rm) disposeModel(rm.model);
    rm = null;
  }
}

// ---------------------------------------------------------------------------------------------
// Stage 5: gate

const f2 = (x: number) => x.toFixed(2);

/** The promotion decision, as a pure function (unit-tested). */
export function gateDecision(
  gate: { minWinRate: number | null; maxKl: number | null; minGoldDelta: number | null },
  ev: {
    winRate: number | null;
    kl: number | null;
    goldAccuracy: number | null;
    prevGoldAccuracy: number | null;
  },
): { passed: boolean; reason: string } {
  const pass: string[] = [];
  const fail: string[] = [];
  if (gate.minWinRate !== null) {
    if (ev.winRate === null) pass.push("win rate not measured (no reward model)");
    else
      (ev.winRate >= gate.minWinRate ? pass : fail).push(
        `win rate ${f2(ev.winRate)} ${ev.winRate >= gate.minWinRate ? "≥" : "<"} ${f2(gate.minWinRate)}`,
      );
  }
  if (gate.maxKl !== null) {
    if (ev.kl === null) pass.push("KL not measured");
    else
      (ev.kl <= gate.maxKl ? pass : fail).push(
        `KL ${f2(ev.kl)} ${ev.kl <= gate.maxKl ? "≤" : ">"} ${f2(gate.maxKl)}`,
      );
  }
  if (gate.minGoldDelta !== null && ev.goldAccuracy !== null && ev.prevGoldAccuracy !== null) {
    const d = ev.goldAccuracy - ev.prevGoldAccuracy;
    (d >= gate.minGoldDelta ? pass : fail).push(
      `gold accuracy ${d >= 0 ? "+" : ""}${f2(d)} ${d >= gate.minGoldDelta ? "≥" : "<"} ${gate.minGoldDelta >= 0 ? "+" : ""}${f2(gate.minGoldDelta)}`,
    );
  }
  if (fail.length)
    return {
      passed: false,
      reason: `rejected: ${fail.join("; ")}${pass.length ? ` (passed: ${pass.join("; ")})` : ""}`,
    };
  return { passed: true, reason: `promoted: ${pass.length ? pass.join("; ") : "no criterion set"}` };
}

export async function gateStage(ctx: RoundContext): Promise<{
  passed: boolean;
  reason: string;
  checkpointId: string | null;
  decision: GateDecision;
}> {
  const own = await ctx.ownCheckpoint("policy");
  if (!own) {
    const why = (ctx.result.policy as { skipped?: string } | undefined)?.skipped ?? "no policy was trained";
    // The lineage shows this round's SFT bootstrap as promoted (it is the project's first
    // policy): the gate says so too, rather than "nothing to promote".
    const sft = await ctx.ownCheckpoint("sft");
    if (sft)
      return {
        passed: true,
        decision: "bootstrap",
        reason: `promoted: the SFT bootstrap ${sft.name}, the project's first policy (no policy was trained on pairs: ${why})`,
        checkpointId: sft.id,
      };
    return {
      passed: false,
      decision: "nothing_to_promote",
      reason: `nothing to promote: ${why}`,
      checkpointId: null,
    };
  }
  const ev = (ctx.result.evaluate ?? {}) as {
    winRate?: number | null;
    kl?: number | null;
    goldAccuracy?: number | null;
    prevGoldAccuracy?: number | null;
  };
  const d = gateDecision(ctx.settings.gate, {
    winRate: ev.winRate ?? null,
    kl: ev.kl ?? null,
    goldAccuracy: ev.goldAccuracy ?? null,
    prevGoldAccuracy: ev.prevGoldAccuracy ?? null,
  });
  await db().checkpoint.update({ where: { id: own.id }, data: { promoted: d.passed, gateReason: d.reason } });
  await audit(db(), {
    actorId: null,
    action: d.passed ? "checkpoint.promote" : "checkpoint.reject",
    target: own.id,
    data: { projectId: ctx.project.id, reason: d.reason },
  });
  ctx.log(d.reason);
  return { ...d, decision: d.passed ? "promoted" : "rejected", checkpointId: own.id };
}
