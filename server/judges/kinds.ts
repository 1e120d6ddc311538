// The three judges, each ruling on one comparison:
//  - llm: any OpenAI-compatible chat endpoint with a rubric; both display orders when position
//    swap is on; the reply's last [[A]]/[[B]]/[[C]] marker is the verdict, never guessed;
//  - reward_model: the project's latest reward-model checkpoint scores every completion;
//  - rule: a programmatic answer check (mini-R1's goldReward) for tasks with a known answer.
// Attempts (one row per judge call) are written as they happen, so a restarted run reuses the
// replies it already paid for.
import path from "node:path";
import type { JudgeAttempt, JudgeConfig, Prisma } from "@prisma/client";
import {
  loadCheckpoint,
  disposeModel,
  scoreRewards,
  envJudgeScore,
  miniR1,
  type GPTModel,
  type BpeTokenizer,
  type ChatMessage,
} from "@/trainer";
import type { Verdict } from "../data/verdict";
import { db } from "../db/client";
import { env } from "../env";
import {
  combineSides,
  identityVerdict,
  knownAnswer,
  promptMessages,
  questionText,
  referenceText,
  sigmoid,
  type JudgeOrder,
  type SideResult,
} from "./content";
import { parseJudgeSettings, rubricOf, type JudgeSettings } from "./config";
import type { JudgeGate } from "./limiter";
import { chatCompletion, EndpointError, withRetries, type RetryPolicy } from "./openai-client";
import { needsReference, renderRubric, type Rubric } from "./rubrics";
import { parseVerdict, verdictProbabilities, type VerdictLetter } from "./verdict";

/** A comparison with everything a judge reads. Completions in canonical order. */
export interface ComparisonContent {
  id: string;
  projectId: string;
  completionIds: string[];
  completions: { id: string; text: string }[];
  prompt: { text: string | null; messages: unknown; metadata: unknown };
  metadata: unknown;
  allowBothBad: boolean;
}

export type JudgeOutcome =
  | {
      status: "judged";
      verdict: Verdict;
      confidence: number | null;
      swap: "consistent" | "inconsistent" | "off";
      rationale?: string;
      metadata: Record<string, unknown>;
    }
  | { status: "unparseable"; reason: string }
  | { status: "failed"; reason: string }
  /** The judge's configuration is wrong (key refused, unknown model): stop the run, keep it resumable. */
  | { status: "fatal"; reason: string }
  | { status: "cancelled" };

export interface Judge {
  judge(c: ComparisonContent, signal: AbortSignal): Promise<JudgeOutcome>;
  close(): void;
}

export interface AttemptSink {
  runId: string;
  /** Writes one attempt and adds its tokens and cost to the run, atomically. */
  record(a: Omit<Prisma.JudgeAttemptCreateManyInput, "runId">): Promise<void>;
  /** Attempts already written for this comparison in this run (a resumed run reuses them). */
  prior(comparisonId: string): Promise<JudgeAttempt[]>;
}

const MAX_REPLY_CHARS = 20_000;
const clip = (s: string, n = MAX_REPLY_CHARS) =>
  s.length > n ? `${s.slice(0, n)}…[${s.length - n} more characters]` : s;

/** Tries per order when the reply has no verdict: the first and one retry. */
export const UNPARSEABLE_TRIES = 2;

function pairVerdict(v: "a" | "b" | "tie", ids: readonly string[]): Verdict {
  if (v === "tie") return { kind: "pairwise", outcome: "tie" };
  const [a, b] = ids as [string, string];
  return v === "a"
    ? { kind: "pairwise", outcome: "win", winnerId: a, loserId: b, strength: 1 }
    : { kind: "pairwise", outcome: "win", winnerId: b, loserId: a, strength: 1 };
}

// ---------------------------------------------------------------------------------------------
// LLM judge

export interface LlmJudgeOptions {
  cfg: JudgeConfig;
  apiKey: string | null;
  gate: JudgeGate;
  sink: AttemptSink;
  retry?: Partial<RetryPolicy>;
}

type SideOutcome =
  | { ok: true; side: SideResult; reply: string }
  | { ok: false; status: "unparseable" | "failed" | "fatal" | "cancelled"; reason: string };

export function llmJudge(o: LlmJudgeOptions): Judge {
  const settings: JudgeSettings = parseJudgeSettings(o.cfg.settings);
  const rubric: Rubric = rubricOf(o.cfg);
  const policy: Partial<RetryPolicy> = {
    maxRetries: settings.maxRetries,
    baseDelayMs: settings.retryBaseDelayMs,
    maxDelayMs: settings.retryMaxDelayMs,
    ...o.retry,
  };
  const baseUrl = o.cfg.baseUrl as string;
  const model = o.cfg.model as string;
  let logprobsRefused = false;

  async function side(
    c: ComparisonContent,
    order: JudgeOrder,
    prior: JudgeAttempt[],
    signal: AbortSignal,
  ): Promise<SideOutcome> {
    const mine = prior.filter((a) => a.order === order).sort((x, y) => x.try - y.try);
    const ok = mine.find((a) => a.status === "ok" && a.verdict);
    if (ok) {
      // Paid for before a restart: reuse it (its probability is not kept; confidence from logprobs is lost for it).
      return {
        ok: true,
        side: { order, letter: ok.verdict as VerdictLetter, probability: null },
        reply: ok.rawReply ?? "",
      };
    }
    const failed = mine.find((a) => a.status === "failed");
    if (failed) return { ok: false, status: "failed", reason: failed.error ?? "failed" };
    let tryNo = mine.length ? Math.max(...mine.map((a) => a.try)) + 1 : 1;
    let unparseable = mine.filter((a) => a.status === "unparseable").length;
    const [first, second] =
      order === "AB" ? [c.completions[0], c.completions[1]] : [c.completions[1], c.completions[0]];
    const reference = referenceText(c.metadata, c.prompt.metadata);
    if (needsReference(rubric) && reference === null) {
      const reason =
        "the rubric needs {reference} but neither the comparison nor its prompt has metadata.reference or a known answer";
      await o.sink.record({ comparisonId: c.id, order, try: tryNo, status: "failed", error: reason });
      return { ok: false, status: "failed", reason };
    }
    const { messages } = renderRubric(rubric, {
      question: questionText(c.prompt),
      answer_a: first?.text ?? "",
      answer_b: second?.text ?? "",
      ...(reference !== null ? { reference } : {}),
    });
    const estTokens = Math.ceil(messages.reduce((n, m) => n + m.content.length, 0) / 4) + o.cfg.maxTokens;
    let lastReason = "";
    while (unparseable < UNPARSEABLE_TRIES) {
      let result;
      const started = performance.now();
      try {
        result = await withRetries(
          async () => {
            const permit = await o.gate.acquire(estTokens, signal);
            let used: number | undefined;
            try {
              const r = await chatCompletion({
                baseUrl,
                apiKey: o.apiKey,
                model,
                messages,
                temperature: o.cfg.temperature,
                maxTokens: o.cfg.maxTokens,
                logprobs: settings.logprobs && !logprobsRefused,
                topLogprobs: settings.topLogprobs,
                timeoutMs: o.cfg.timeoutMs,
                signal,
              });
              used = r.usage ? r.usage.promptTokens + r.usage.completionTokens : undefined;
              return r;
            } finally {
              permit.release(used);
            }
          },
          {
            policy,
            signal,
            onRetry: ({ error }) => {
              if (error.opts.retryAfterMs !== undefined)
                o.gate.pauseUntil(Date.now() + error.opts.retryAfterMs);
            },
          },
        );
      } catch (e) {
        const err =
          e instanceof EndpointError
            ? e
            : new EndpointError("network", (e as Error).message, { retryable: false });
        if (err.kind === "cancelled" || signal.aborted)
          return { ok: false, status: "cancelled", reason: "cancelled" };
        if (
          err.kind === "client" &&
          err.opts.status === 400 &&
          settings.logprobs &&
          !logprobsRefused &&
          /logprob/i.test(err.message)
        ) {
          // Some servers refuse logprobs: judge without them (no confidence) rather than stop.
          logprobsRefused = true;
          continue;
        }
        if (err.kind === "auth" || err.kind === "client")
          return { ok: false, status: "fatal", reason: err.message };
        await o.sink.record({
          comparisonId: c.id,
          order,
          try: tryNo,
          status: "failed",
          error: err.message,
          latencyMs: Math.round(performance.now() - started),
        });
        return { ok: false, status: "failed", reason: err.message };
      }
      const choice = result.choices[0];
      const reply = choice?.text ?? "";
      const parsed = parseVerdict(reply);
      const promptTokens = result.usage?.promptTokens ?? estTokens - o.cfg.maxTokens;
      const completionTokens = result.usage?.completionTokens ?? Math.ceil(reply.length / 4);
      if (parsed.ok) {
        const probs = verdictProbabilities(reply, parsed, choice?.logprobs);
        await o.sink.record({
          comparisonId: c.id,
          order,
          try: tryNo,
          status: "ok",
          verdict: parsed.verdict,
          rawReply: clip(reply),
          promptTokens,
          completionTokens,
          latencyMs: result.latencyMs,
        });
        return {
          ok: true,
          side: { order, letter: parsed.verdict, probability: probs?.chosen ?? null },
          reply,
        };
      }
      lastReason = parsed.reason;
      await o.sink.record({
        comparisonId: c.id,
        order,
        try: tryNo,
        status: "unparseable",
        rawReply: clip(reply),
        error: parsed.reason,
        promptTokens,
        completionTokens,
        latencyMs: result.latencyMs,
      });
      unparseable++;
      tryNo++;
    }
    return { ok: false, status: "unparseable", reason: lastReason || "no verdict marker in the reply" };
  }

  return {
    async judge(c, signal) {
      if (c.completions.length !== 2)
        return {
          status: "failed",
          reason: `an LLM judge compares two completions; this comparison has ${c.completions.length}`,
        };
      const prior = await o.sink.prior(c.id);
      const orders: JudgeOrder[] = o.cfg.positionSwap ? ["AB", "BA"] : ["AB"];
      const sides = await Promise.all(orders.map((ord) => side(c, ord, prior, signal)));
      for (const status of ["cancelled", "fatal", "failed", "unparseable"] as const) {
        const bad = sides.find((s): s is Extract<SideOutcome, { ok: false }> => !s.ok && s.status === status);
        if (bad) return status === "cancelled" ? { status } : { status, reason: bad.reason };
      }
      const good = sides as Extract<SideOutcome, { ok: true }>[];
      const combined = combineSides(good.map((s) => s.side));
      return {
        status: "judged",
        verdict: pairVerdict(combined.verdict, c.completionIds),
        confidence: combined.confidence,
        swap: combined.swap,
        rationale: clip(good[0]?.reply ?? "", 8000),
        metadata: {
          judge: "llm",
          model,
          swap: combined.swap,
          orders: good.map((s) => ({
            order: s.side.order,
            verdict: s.side.letter,
            said: identityVerdict(s.side.letter, s.side.order),
            probability: s.side.probability,
          })),
        },
      };
    },
    close() {},
  };
}

// ---------------------------------------------------------------------------------------------
// Reward-model judge

/** Orders completions by score into best-first groups (equal scores share a group). */
function rankGroups(ids: readonly string[], scores: readonly number[]): string[][] {
  const order = ids.map((id, i) => ({ id, s: scores[i] as number })).sort((x, y) => y.s - x.s);
  const groups: string[][] = [];
  let lastScore = NaN;
  for (const x of order) {
    if (groups.length && x.s === lastScore) (groups[groups.length - 1] as string[]).push(x.id);
    else groups.push([x.id]);
    lastScore = x.s;
  }
  return groups;
}

function asChat(p: ComparisonContent["prompt"]): string | ChatMessage[] {
  if (Array.isArray(p.messages)) return promptMessages(p) as ChatMessage[];
  return p.text ?? "";
}

export function resolveCheckpointPath(p: string): string {
  return path.isAbsolute(p) ? p : path.join(env().checkpointDir, p);
}

export async function rewardModelJudge(o: { projectId: string; sink: AttemptSink }): Promise<Judge> {
  const ckpt = await db().checkpoint.findFirst({
    where: { projectId: o.projectId, kind: "reward" },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
  });
  if (!ckpt)
    throw new JudgeSetupError(
      "This project has no reward-model checkpoint yet; train a reward model first (a training round), then start the run.",
    );
  let model: GPTModel;
  let tokenizer: BpeTokenizer;
  try {
    const loaded = await loadCheckpoint(resolveCheckpointPath(ckpt.path));
    if (loaded.kind !== "reward")
      throw new Error(`checkpoint ${ckpt.name} holds a ${loaded.kind} model, not a reward model`);
    model = loaded.model;
    tokenizer = loaded.tokenizer;
  } catch (e) {
    throw new JudgeSetupError(
      `Could not load reward-model checkpoint "${ckpt.name}": ${(e as Error).message}`,
    );
  }
  return {
    async judge(c) {
      const prompt = asChat(c.prompt);
      const started = performance.now();
      const scores = await scoreRewards(
        model,
        tokenizer,
        c.completions.map((x) => ({ prompt, completion: x.text })),
      );
      const latencyMs = Math.round(performance.now() - started);
      let verdict: Verdict;
      let confidence: number;
      let letter: VerdictLetter | null = null;
      if (c.completions.length === 2) {
        const [rA, rB] = scores as [number, number];
        const v = rA === rB ? "tie" : rA > rB ? "a" : "b";
        verdict = pairVerdict(v, c.completionIds);
        confidence = sigmoid(Math.abs(rA - rB)); // σ(r_winner − r_loser) = max(σ(r_A − r_B), σ(r_B − r_A))
        letter = v === "tie" ? "C" : v === "a" ? "A" : "B";
      } else {
        const groups = rankGroups(c.completionIds, scores);
        verdict = { kind: "ranking", ranking: groups };
        const sorted = [...scores].sort((x, y) => y - x);
        let minGap = Infinity;
        for (let i = 1; i < sorted.length; i++)
          minGap = Math.min(minGap, (sorted[i - 1] as number) - (sorted[i] as number));
        confidence = sigmoid(minGap);
      }
      await o.sink.record({
        comparisonId: c.id,
        order: "AB",
        try: 1,
        status: "ok",
        verdict: letter,
        rawReply: JSON.stringify({ rewards: scores }),
        latencyMs,
      });
      return {
        status: "judged",
        verdict,
        confidence,
        swap: "off",
        metadata: {
          judge: "reward_model",
          checkpointId: ckpt.id,
          checkpoint: ckpt.name,
          rewards: scores,
          pA: c.completions.length === 2 ? sigmoid((scores[0] as number) - (scores[1] as number)) : null,
        },
      };
    },
    close() {
      disposeModel(model);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Rule judge

export function ruleJudge(o: { sink: AttemptSink }): Judge {
  return {
    async judge(c) {
      // An environment's prompt ({task, problem} in metadata) is checked by the environment's checker.
      const envScores = await Promise.all(c.completions.map((x) => envJudgeScore(c.prompt.metadata, x.text)));
      const answer = knownAnswer(c.metadata, c.prompt.metadata);
      if (answer === null && !envScores.every((x) => x !== null)) {
        const reason =
          "no programmatic answer: set metadata.answer (or metadata.problem.answer) on the prompt or the comparison, or {task: <environment>, problem}";
        await o.sink.record({ comparisonId: c.id, order: "AB", try: 1, status: "failed", error: reason });
        return { status: "failed", reason };
      }
      const rewards = envScores.every((x) => x !== null)
        ? envScores.map((x) => ({ reward: x.reward, correct: x.correct, formatOk: x.formatOk, env: x.env }))
        : c.completions.map((x) => miniR1.goldReward({ answer: answer as number }, x.text));
      const r = rewards.map((x) => x.reward);
      let verdict: Verdict;
      let letter: VerdictLetter | null = null;
      if (c.completions.length === 2) {
        const [rA, rB] = r as [number, number];
        // Equal rewards: both wrong is "both bad" (when the project allows it), else a tie.
        const bothWrong = !rewards[0]?.correct && !rewards[1]?.correct;
        if (rA === rB)
          verdict =
            bothWrong && c.allowBothBad
              ? { kind: "pairwise", outcome: "both_bad" }
              : { kind: "pairwise", outcome: "tie" };
        else verdict = pairVerdict(rA > rB ? "a" : "b", c.completionIds);
        letter = rA === rB ? "C" : rA > rB ? "A" : "B";
      } else {
        verdict = { kind: "ranking", ranking: rankGroups(c.completionIds, r) };
      }
      await o.sink.record({
        comparisonId: c.id,
        order: "AB",
        try: 1,
        status: "ok",
        verdict: letter,
        rawReply: JSON.stringify({ answer, rewards }),
      });
      return {
        status: "judged",
        verdict,
        confidence: 1,
        swap: "off",
        metadata: { judge: "rule", answer, rewards },
      };
    },
    close() {},
  };
}

/** The judge cannot start (no checkpoint, unreadable key): the run fails with this message. */
export class JudgeSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JudgeSetupError";
  }
}
