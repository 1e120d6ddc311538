// What a judge reads from a comparison: the question, the answers, a reference answer or a
// programmatic answer. Pure functions over rows (JSON columns read defensively).
import type { PositionalVerdict } from "../stats";
import type { PairwiseVerdict as StatsVerdict } from "../stats";
import type { VerdictLetter } from "./verdict";

export interface PromptLike {
  text: string | null;
  messages: unknown;
  metadata: unknown;
}

interface Msg {
  role: string;
  content: string;
}

function messagesOf(v: unknown): Msg[] | null {
  if (!Array.isArray(v)) return null;
  const out: Msg[] = [];
  for (const m of v) {
    if (
      m &&
      typeof m === "object" &&
      typeof (m as Msg).role === "string" &&
      typeof (m as Msg).content === "string"
    )
      out.push(m as Msg);
  }
  return out.length ? out : null;
}

/** The prompt as the judge's {question}: a text prompt as is; one user turn as its content; a longer conversation as a transcript. */
export function questionText(p: PromptLike): string {
  const msgs = messagesOf(p.messages);
  if (!msgs) return p.text ?? "";
  if (msgs.length === 1 && msgs[0]?.role === "user") return msgs[0].content;
  return msgs.map((m) => `[${m.role}]\n${m.content}`).join("\n\n");
}

/** The prompt as chat messages (for generation). */
export function promptMessages(p: PromptLike): { role: "system" | "user" | "assistant"; content: string }[] {
  const msgs = messagesOf(p.messages);
  if (!msgs) return [{ role: "user", content: p.text ?? "" }];
  return msgs.map((m) => ({
    role: m.role === "system" || m.role === "assistant" ? m.role : "user",
    content: m.content,
  }));
}

const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

function numeric(v: unknown): number | null {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  return null;
}

/**
 * The programmatic answer of a task with a known result, looked up in the comparison's metadata,
 * then the prompt's: `answer`, or `problem.answer` (mini-R1 prompts carry {task: "miniR1", problem}).
 */
export function knownAnswer(comparisonMetadata: unknown, promptMetadata: unknown): number | null {
  for (const m of [obj(comparisonMetadata), obj(promptMetadata)]) {
    const direct = numeric(m.answer);
    if (direct !== null) return direct;
    const nested = numeric(obj(m.problem).answer);
    if (nested !== null) return nested;
  }
  return null;
}

/** A reference answer for reference-guided rubrics: `reference` text, else the known answer. */
export function referenceText(comparisonMetadata: unknown, promptMetadata: unknown): string | null {
  for (const m of [obj(comparisonMetadata), obj(promptMetadata)]) {
    if (typeof m.reference === "string" && m.reference.trim()) return m.reference;
  }
  const a = knownAnswer(comparisonMetadata, promptMetadata);
  return a === null ? null : `The answer is ${a}.`;
}

/** Display order of a judge call: AB shows completionIds[0] first, BA shows completionIds[1] first. */
export type JudgeOrder = "AB" | "BA";

export function positional(letter: VerdictLetter): PositionalVerdict {
  return letter === "A" ? "first" : letter === "B" ? "second" : "tie";
}

/** A positional verdict in identity terms: "a" = completionIds[0], "b" = completionIds[1]. */
export function identityVerdict(letter: VerdictLetter, order: JudgeOrder): StatsVerdict {
  if (letter === "C") return "tie";
  const firstShown = order === "AB" ? "a" : "b";
  const secondShown = order === "AB" ? "b" : "a";
  return letter === "A" ? firstShown : secondShown;
}

export interface SideResult {
  order: JudgeOrder;
  letter: VerdictLetter;
  /** Probability of the letter (from logprobs), or null. */
  probability: number | null;
}

export interface Combined {
  verdict: StatsVerdict;
  /** consistent: both orders agree (or only one order was asked); inconsistent: recorded as a tie. */
  swap: "consistent" | "inconsistent" | "off";
  /** Mean probability of the verdict over the orders, 0 when inconsistent, null without logprobs. */
  confidence: number | null;
}

/**
 * Combines the verdicts of the orders asked. With position swap, a verdict both orders agree on
 * is the judgment; disagreement (including decisive vs tie) is a tie with confidence 0.
 */
export function combineSides(sides: readonly SideResult[]): Combined {
  if (sides.length === 0) throw new Error("combineSides needs at least one side");
  const verdicts = sides.map((s) => identityVerdict(s.letter, s.order));
  const probs = sides.map((s) => s.probability);
  const conf = probs.every((p): p is number => p !== null)
    ? probs.reduce((a, b) => a + b, 0) / probs.length
    : null;
  if (sides.length === 1) return { verdict: verdicts[0] as StatsVerdict, swap: "off", confidence: conf };
  if (verdicts.every((v) => v === verdicts[0]))
    return { verdict: verdicts[0] as StatsVerdict, swap: "consistent", confidence: conf };
  return { verdict: "tie", swap: "inconsistent", confidence: 0 };
}

export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** PostgreSQL text cannot hold NUL; a small model can emit the byte. Stored as U+FFFD. */
export function storableText(s: string): string {
  return s.replaceAll("\u0000", "\uFFFD");
}
