"use client";
// A round's stages in words: what each one did (or why it was skipped), then its other figures
// as a short list, never as raw JSON. A new stage or a new figure shows up in the list without
// a change here; a sentence for it can be added to SENTENCES.
import type { RouterOutputs } from "@/components/trpc";
import { plural } from "@/components/plural";

type RoundResult = RouterOutputs["training"]["round"]["round"]["result"];
type StageResult = Record<string, unknown>;

export const STAGES = ["bootstrap", "snapshot", "reward", "policy", "evaluate", "gate", "generate"] as const;

const num = (v: unknown, d = 3): string | null =>
  typeof v === "number" && Number.isFinite(v) ? (Number.isInteger(v) ? String(v) : v.toFixed(d)) : null;
const pct = (v: unknown): string | null =>
  typeof v === "number" && Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : null;
const count = (v: unknown, one: string, many?: string) =>
  typeof v === "number" ? plural(v, one, many) : null;
const join = (parts: Array<string | null | false | undefined>) => parts.filter(Boolean).join(", ");

/** One sentence per stage from its best-known figures; null: only the list. */
const SENTENCES: Record<string, (r: StageResult) => string | null> = {
  bootstrap: (r) =>
    `Trained a tokenizer and a first SFT policy: ${join([
      count(r.steps, "step"),
      count(r.examples, "example"),
      num(r.finalLoss) && `final loss ${num(r.finalLoss)}`,
    ])}.`,
  snapshot: (r) =>
    `Froze ${join([
      count(r.pairCount, "preference pair"),
      typeof r.train === "number" && `${r.train} for training`,
      typeof r.validation === "number" && `${r.validation} for validation`,
      typeof r.newPairs === "number" && `${r.newPairs} new since the previous round`,
    ])}.`,
  reward: (r) =>
    `Reward model trained: ${join([
      count(r.steps, "step"),
      pct(r.valAccuracy) && `validation accuracy ${pct(r.valAccuracy)}`,
      pct(r.prevValAccuracy) && `the previous one ${pct(r.prevValAccuracy)}`,
    ])}.`,
  policy: (r) =>
    `Policy trained${typeof r.method === "string" ? ` (${r.method})` : ""}: ${join([
      count(r.steps, "step"),
      count(r.pairs, "pair"),
      num(r.finalLoss) && `final loss ${num(r.finalLoss)}`,
      pct(r["rewards/accuracies"]) && `reward accuracy ${pct(r["rewards/accuracies"])}`,
    ])}.`,
  evaluate: (r) =>
    `Evaluated ${typeof r.checkpointName === "string" ? r.checkpointName : "the policy"}${
      typeof r.heldOut === "number" ? ` on ${plural(r.heldOut, "held-out prompt")}` : ""
    }: ${
      join([
        pct(r.goldAccuracy) && `gold accuracy ${pct(r.goldAccuracy)}`,
        pct(r.prevGoldAccuracy) && `before ${pct(r.prevGoldAccuracy)}`,
        num(r.winRate, 2) && `win rate ${num(r.winRate, 2)}`,
        num(r.kl, 2) && `KL ${num(r.kl, 2)} nats`,
      ]) || "no figures"
    }.`,
  gate: (r) =>
    r.passed === true
      ? `Promoted the new policy: ${String(r.reason ?? "").replace(/^promoted: /, "")}.`
      : r.checkpointId
        ? `Kept the current policy; the new one was rejected: ${String(r.reason ?? "").replace(/^rejected: /, "")}.`
        : `Nothing to promote: no new policy was trained this round${
            typeof r.reason === "string" && r.reason.includes(": ")
              ? ` (${r.reason.split(": ").slice(1).join(": ")})`
              : ""
          }.`,
  generate: (r) =>
    `Generated ${join([
      count(r.completions, "completion"),
      typeof r.prompts === "number" && `for ${plural(r.prompts, "prompt")}`,
    ])}: ${count(r.comparisonsAdded ?? r.comparisons, "new comparison") ?? "no comparisons"}${
      typeof r.checkpointName === "string" ? ` from ${r.checkpointName}` : ""
    }.`,
};

/** Figures not worth a line: ids, hashes, large lists, and what the sentence already says. */
const HIDDEN = new Set([
  "checkpointId",
  "prevCheckpointId",
  "previousCheckpointId",
  "id",
  "hash",
  "leaderboard",
  "examples",
  "samples",
  "reason",
  "passed",
  "skipped",
]);

function label(key: string): string {
  const words = key
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .replace(/[_/]/g, " ")
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function value(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return num(v);
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "string") return v.length > 120 ? v.slice(0, 119) + "…" : v;
  if (Array.isArray(v)) return plural(v.length, "item");
  if (typeof v === "object") {
    const inner = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => typeof x === "number" || typeof x === "string" || typeof x === "boolean")
      .map(([k, x]) => `${label(k).toLowerCase()} ${value(x)}`);
    return inner.length ? inner.join(", ") : null;
  }
  return null;
}

export function stageSentence(stage: string, r: StageResult): string | null {
  if (typeof r.skipped === "string") return `Skipped: ${r.skipped}.`;
  return SENTENCES[stage]?.(r) ?? null;
}

export function StageSummaries({
  result,
  duration,
}: {
  result: RoundResult;
  duration: (seconds: number) => string;
}) {
  const stages = STAGES.filter((s) => result[s]);
  if (!stages.length) return null;
  return (
    <ol className="mt-3 grid gap-2 text-sm md:grid-cols-2" data-testid="stage-summaries">
      {stages.map((stage) => {
        const r = result[stage] as StageResult;
        const sentence = stageSentence(stage, r);
        const rows = Object.entries(r)
          .filter(([k]) => !HIDDEN.has(k))
          .map(([k, v]) => [label(k), value(v)] as const)
          .filter((row): row is readonly [string, string] => row[1] !== null);
        const skipped = typeof r.skipped === "string";
        return (
          <li
            key={stage}
            className={`rounded border bg-white p-2 ${skipped ? "border-amber-300" : ""}`}
            data-testid={`stage-${stage}`}
          >
            <div className="font-medium">
              {stage.charAt(0).toUpperCase() + stage.slice(1)}{" "}
              {result.seconds?.[stage] !== undefined && (
                <span className="text-xs font-normal text-slate-500">
                  ({duration(result.seconds[stage]!)})
                </span>
              )}
            </div>
            {sentence && (
              <p
                className={skipped ? "text-amber-800" : "text-slate-700"}
                data-testid={`stage-${stage}-summary`}
              >
                {sentence}
              </p>
            )}
            {rows.length > 0 && (
              <details className="mt-1 text-xs text-slate-600">
                <summary className="cursor-pointer">All figures</summary>
                <dl className="mt-1 grid grid-cols-[auto_1fr] gap-x-3 gap-y-0.5">
                  {rows.map(([k, v]) => (
                    <div key={k} className="contents">
                      <dt className="text-slate-500">{k}</dt>
                      <dd className="break-words">{v}</dd>
                    </div>
                  ))}
                </dl>
              </details>
            )}
          </li>
        );
      })}
    </ol>
  );
}
