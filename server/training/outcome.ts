// What a training round did, stage by stage, as data the admin UI, the CLI and the REST API show
// as they are (pure functions of the round row; no database, no trainer: the web app runs this).
//
// Shapes (documented here for the UI):
//  - StageState  {stage, status: "pending" | "running" | "done" | "skipped" | "failed", reason}
//      one per stage of ROUND_STAGES (without "done"), in order; `reason` says why a stage was
//      skipped or failed (null otherwise), e.g. "only 1 train pair (at least 8 needed; label more
//      comparisons)".
//  - RoundOutcome {status: "succeeded" | "skipped", reason}
//      stored in TrainingRound.result.outcome when the round ends; TrainingRound.status takes the
//      same status. "skipped": the round ran but trained neither a reward model nor a policy
//      (too few pairs); `reason` then says why, and what the round did do (a bootstrap SFT, new
//      comparisons).
//  - the gate's result (result.gate) has `decision`: "promoted" | "rejected" | "bootstrap" |
//      "nothing_to_promote", which agrees with the checkpoints' `promoted` flags (the lineage).
import type { RoundResult, RoundStage, RoundView } from "./rounds";

export type StageStatus = "pending" | "running" | "done" | "skipped" | "failed";
export interface StageState {
  stage: Exclude<RoundStage, "done">;
  status: StageStatus;
  reason: string | null;
}

export interface RoundOutcome {
  status: "succeeded" | "skipped";
  reason: string | null;
}

export type GateDecision = "promoted" | "rejected" | "bootstrap" | "nothing_to_promote";

const STAGES = ["bootstrap", "snapshot", "reward", "policy", "evaluate", "gate", "generate"] as const;

function skippedReason(out: unknown): string | null {
  const s = (out as { skipped?: unknown } | undefined)?.skipped;
  return typeof s === "string" ? s : null;
}

/** Each stage's state, from where the round is and what each finished stage returned. */
export function stageStates(r: Pick<RoundView, "status" | "stage" | "result" | "error">): StageState[] {
  const at = STAGES.indexOf(r.stage as (typeof STAGES)[number]);
  const finished = r.stage === "done";
  return STAGES.map((stage, i) => {
    const out = (r.result as Record<string, unknown>)[stage];
    if (finished || i < at) {
      const why = skippedReason(out);
      if (stage === "gate") {
        const g = r.result.gate;
        if (g?.decision === "nothing_to_promote") return { stage, status: "skipped", reason: g.reason };
      }
      return why ? { stage, status: "skipped", reason: why } : { stage, status: "done", reason: null };
    }
    if (i === at) {
      if (r.status === "running") return { stage, status: "running", reason: null };
      if (r.status === "failed") return { stage, status: "failed", reason: r.error };
    }
    return { stage, status: "pending", reason: null };
  });
}

/**
 * How a round that went through every stage ended: "succeeded" when it trained a reward model or
 * a policy, "skipped" when both were skipped (the reason names why, and what the round did do).
 */
export function roundOutcome(result: RoundResult): RoundOutcome {
  const reward = skippedReason(result.reward);
  const policy = skippedReason(result.policy);
  if (!reward || !policy) return { status: "succeeded", reason: null };
  const did: string[] = [];
  const boot = result.bootstrap as { skipped?: unknown; checkpointId?: unknown } | undefined;
  if (boot && !boot.skipped && boot.checkpointId)
    did.push("trained the SFT bootstrap, now the project's policy");
  const gen = result.generate as { comparisonsAdded?: unknown } | undefined;
  const made = Number(gen?.comparisonsAdded ?? 0);
  if (made > 0) did.push(`asked for ${made} new comparison${made === 1 ? "" : "s"} to label`);
  const same = reward === policy;
  const why = same ? reward : `reward model: ${reward}; policy: ${policy}`;
  return {
    status: "skipped",
    reason: `No reward model or policy was trained: ${why}.${did.length ? ` The round ${did.join(" and ")}.` : ""}`,
  };
}
