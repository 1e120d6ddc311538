// Judge rubrics: prompt templates with placeholders, rendered in one pass.
//
// The built-in rubrics are MT-Bench's pairwise judge prompts (Zheng et al. 2023, FastChat
// "pair-v2" and the reference-guided "pair-math-v1"), ending in a [[A]] / [[B]] / [[C]] verdict.
// Admins may write their own with the same placeholders.
import { DomainError } from "../errors";

export const PLACEHOLDERS = ["question", "answer_a", "answer_b", "reference"] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];
export type RubricValues = Partial<Record<Placeholder, string>>;

export interface Rubric {
  /** System message (optional). Placeholders are filled here too. */
  system: string;
  /** The user message. */
  template: string;
}

const VERDICT_INSTRUCTION =
  'After providing your explanation, output your final verdict by strictly following this format: "[[A]]" if assistant A is better, "[[B]]" if assistant B is better, and "[[C]]" for a tie.';

export const BUILTIN_RUBRICS = {
  /** MT-Bench pair-v2: general pairwise comparison. */
  "mt-bench-pair": {
    label: "MT-Bench pairwise (general)",
    system:
      "Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to the user question displayed below. " +
      "You should choose the assistant that follows the user's instructions and answers the user's question better. " +
      "Your evaluation should consider factors such as the helpfulness, relevance, accuracy, depth, creativity, and level of detail of their responses. " +
      "Begin your evaluation by comparing the two responses and provide a short explanation. " +
      "Avoid any position biases and ensure that the order in which the responses were presented does not influence your decision. " +
      "Do not allow the length of the responses to influence your evaluation. Do not favor certain names of the assistants. Be as objective as possible. " +
      VERDICT_INSTRUCTION,
    template:
      "[User Question]\n{question}\n\n" +
      "[The Start of Assistant A's Answer]\n{answer_a}\n[The End of Assistant A's Answer]\n\n" +
      "[The Start of Assistant B's Answer]\n{answer_b}\n[The End of Assistant B's Answer]",
  },
  /** MT-Bench pair-math-v1: reference-guided, for tasks with a known answer. */
  "mt-bench-pair-reference": {
    label: "MT-Bench pairwise, reference-guided (known answer)",
    system:
      "Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to the user question displayed below. " +
      "Your evaluation should consider correctness and helpfulness. You will be given a reference answer, assistant A's answer, and assistant B's answer. " +
      "Your job is to evaluate which assistant's answer is better. Begin your evaluation by comparing both assistants' answers with the reference answer. " +
      "Identify and correct any mistakes. " +
      "Avoid any position biases and ensure that the order in which the responses were presented does not influence your decision. " +
      "Do not allow the length of the responses to influence your evaluation. Do not favor certain names of the assistants. Be as objective as possible. " +
      VERDICT_INSTRUCTION,
    template:
      "[User Question]\n{question}\n\n" +
      "[The Start of Reference Answer]\n{reference}\n[The End of Reference Answer]\n\n" +
      "[The Start of Assistant A's Answer]\n{answer_a}\n[The End of Assistant A's Answer]\n\n" +
      "[The Start of Assistant B's Answer]\n{answer_b}\n[The End of Assistant B's Answer]",
  },
} as const satisfies Record<string, Rubric & { label: string }>;
export type BuiltinRubricId = keyof typeof BUILTIN_RUBRICS;
export const DEFAULT_RUBRIC: BuiltinRubricId = "mt-bench-pair";

const PLACEHOLDER_RE = /\{([a-z_]+)\}/g;
// Anything that looks like a placeholder, for validation: catches typos such as {answer_A}.
const PLACEHOLDER_LIKE_RE = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Placeholders a template uses (known ones only). */
export function placeholdersIn(text: string): Placeholder[] {
  const seen = new Set<Placeholder>();
  for (const m of text.matchAll(PLACEHOLDER_RE)) {
    const name = m[1] as string;
    if ((PLACEHOLDERS as readonly string[]).includes(name)) seen.add(name as Placeholder);
  }
  return [...seen];
}

/**
 * Checks an admin-written rubric: it must show both answers, and every {word} placeholder must be
 * one we fill (a typo like {answer_A} would otherwise reach the judge verbatim).
 */
export function validateRubric(r: Rubric): void {
  const all = `${r.system}\n${r.template}`;
  const unknown = [...all.matchAll(PLACEHOLDER_LIKE_RE)]
    .map((m) => m[1] as string)
    .filter((n) => !(PLACEHOLDERS as readonly string[]).includes(n));
  if (unknown.length) {
    throw new DomainError(
      "bad_request",
      `Rubric uses unknown placeholder${unknown.length > 1 ? "s" : ""} ${[...new Set(unknown)].map((n) => `{${n}}`).join(", ")}; ` +
        `use ${PLACEHOLDERS.map((p) => `{${p}}`).join(", ")}.`,
    );
  }
  const used = placeholdersIn(all);
  const missing = (["answer_a", "answer_b"] as const).filter((p) => !used.includes(p));
  if (missing.length) {
    throw new DomainError(
      "bad_request",
      `Rubric must include ${missing.map((p) => `{${p}}`).join(" and ")} so the judge sees both answers.`,
    );
  }
  if (!/\[\[A\]\]/.test(all) || !/\[\[B\]\]/.test(all)) {
    throw new DomainError(
      "bad_request",
      'Rubric must tell the judge to answer with "[[A]]", "[[B]]" (and "[[C]]" for a tie): the verdict is read from those markers.',
    );
  }
}

/** True when the rubric needs a reference answer. */
export function needsReference(r: Rubric): boolean {
  return placeholdersIn(`${r.system}\n${r.template}`).includes("reference");
}

/**
 * Fills placeholders in one pass, so an answer that itself contains "{answer_b}" is not expanded.
 * A placeholder without a value is an error (never sent half-filled).
 */
export function renderTemplate(template: string, values: RubricValues): string {
  return template.replace(PLACEHOLDER_RE, (whole, name: string) => {
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) return whole;
    const v = values[name as Placeholder];
    if (v === undefined)
      throw new DomainError("bad_request", `The rubric needs {${name}} but this comparison has none.`);
    return v;
  });
}

export interface RenderedRubric {
  messages: { role: "system" | "user"; content: string }[];
}

export function renderRubric(r: Rubric, values: RubricValues): RenderedRubric {
  const messages: RenderedRubric["messages"] = [];
  if (r.system.trim()) messages.push({ role: "system", content: renderTemplate(r.system, values) });
  messages.push({ role: "user", content: renderTemplate(r.template, values) });
  return { messages };
}
