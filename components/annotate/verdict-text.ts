// An answer (as this tab would send it) and a recorded verdict (in completion ids), both written
// the same way in terms of what the annotator saw ("A is better (much)", "C > A = B"), so that a
// second tab can tell whether the vote that stands is the one it made.
import type { RouterInputs, RouterOutputs } from "@/components/trpc";

type Answer = RouterInputs["annotation"]["submit"]["answer"];
type Verdict = NonNullable<RouterOutputs["annotation"]["submit"]["recorded"]>;
type Shown = ReadonlyArray<{ id: string; label: string }>;

const much = (strength: number | undefined, asked: boolean) => (asked && strength === 2 ? " (much)" : "");

export function describeAnswer(answer: Answer, completions: Shown, strengthAsked: boolean): string {
  if (answer.kind === "ranking") {
    const label = new Map(completions.map((c) => [c.id, c.label]));
    return answer.ranking.map((g) => g.map((id) => label.get(id) ?? "?").join(" = ")).join(" > ");
  }
  if (answer.choice === "tie") return "Tie";
  if (answer.choice === "both_bad") return "Both bad";
  return `${answer.choice} is better${much(answer.strength, strengthAsked)}`;
}

export function describeVerdict(verdict: Verdict, completions: Shown, strengthAsked: boolean): string {
  const label = new Map(completions.map((c) => [c.id, c.label]));
  if (verdict.kind === "ranking")
    return verdict.ranking.map((g) => g.map((id) => label.get(id) ?? "?").join(" = ")).join(" > ");
  if (verdict.outcome === "tie") return "Tie";
  if (verdict.outcome === "both_bad") return "Both bad";
  return `${label.get(verdict.winnerId) ?? "?"} is better${much(verdict.strength, strengthAsked)}`;
}
