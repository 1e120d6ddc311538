// Import row formats: each line (or array element) is detected and validated on its own.
//
// | format                | a row looks like                                                        | becomes |
// | --------------------- | ----------------------------------------------------------------------- | ------- |
// | prompt                | {"prompt": "..."} or {"prompt": [{role, content}, ...]}                  | a prompt |
// | completions           | {"prompt": ..., "completions": ["...", {"text", "model"}, ...]}         | a comparison of 2..16 completions (open, to be judged) |
// |   + ranking           | ... "ranking": [2, 0, 1] or [[2], [0, 1]] (indices, best first; a group ties) | the comparison with an imported ranking judgment |
// | trl                   | {"prompt": "...", "chosen": "...", "rejected": "..."}                    | a comparison with an imported judgment (chosen wins) |
// | trl_conversational    | {"prompt": [{role, content}...], "chosen": [{"role": "assistant", ...}], "rejected": [...]} | same; the prompt is a conversation |
// | trl_implicit          | {"chosen": [...conversation], "rejected": [...conversation]}             | the shared prefix is the prompt; each side's one remaining assistant message is its completion |
// | hh                    | {"chosen": "\n\nHuman: ...\n\nAssistant: ...", "rejected": "..."}        | HH-RLHF: the turns before the last "Assistant:" (identical on both sides) are the prompt conversation (Human -> user, Assistant -> assistant, System -> system); the last Assistant turn is the completion. The one space after "Human:"/"Assistant:" belongs to the marker. |
// | chat                  | {"messages": [{role, content}, ...]}                                     | OpenAI chat: if the last message is the assistant's, it is a completion of the conversation before it; otherwise the whole conversation is a prompt. Completions of one prompt are grouped into a comparison at the end of the import. |
// | openai_preference     | {"input": {"messages": [...]}, "preferred_output": [{role: "assistant", content}], "non_preferred_output": [...]} | OpenAI preference fine-tuning rows: like trl_conversational |
//
// Optional on any row: "project" (id or slug; overrides the import's project), "metadata" (an
// object, kept on the prompt / comparison), "margin" (a number: the pair's reward margin;
// absent = 0), "chosen_model"/"rejected_model" (model names), "model" (chat rows). Other fields —
// including the provenance fields Pairwise's own exports add — are ignored, so an export
// re-imports cleanly.
import type { ChatMessage, PromptContent } from "../hash";

export type RowFormat =
  | "prompt"
  | "completions"
  | "trl"
  | "trl_conversational"
  | "trl_implicit"
  | "hh"
  | "chat"
  | "openai_preference";

export interface CompletionIn {
  text: string;
  model?: string;
  metadata?: Record<string, unknown>;
}

/** A preference or ranking carried by the row, in indices of `completions`. */
export type RowJudgment =
  { kind: "win"; chosen: number; rejected: number; margin: number } | { kind: "ranking"; groups: number[][] };

export type ImportRow =
  | {
      kind: "prompt";
      format: RowFormat;
      project?: string;
      prompt: PromptContent;
      metadata?: Record<string, unknown>;
    }
  | {
      kind: "completion";
      format: RowFormat;
      project?: string;
      prompt: PromptContent;
      completion: CompletionIn;
      metadata?: Record<string, unknown>;
    }
  | {
      kind: "comparison";
      format: RowFormat;
      project?: string;
      prompt: PromptContent;
      completions: CompletionIn[];
      judgment?: RowJudgment;
      metadata?: Record<string, unknown>;
      /** Metadata of the prompt, when it is created by this row (HH markers, see HH_METADATA_KEY). */
      promptMetadata?: Record<string, unknown>;
    };

export class RowError extends Error {}

export const MAX_COMPLETIONS = 16;
const ROLES = new Set(["system", "user", "assistant", "tool"]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const typeName = (v: unknown) =>
  v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : `a ${typeof v}`;

function checkText(text: unknown, what: string, maxChars: number): string {
  if (typeof text !== "string") throw new RowError(`${what} must be a string, got ${typeName(text)}`);
  if (text.trim() === "") throw new RowError(`${what} is empty`);
  // PostgreSQL text cannot hold NUL or half a surrogate pair.
  if (text.includes("\u0000"))
    throw new RowError(`${what} contains a NUL character (\\u0000), which PostgreSQL text cannot store`);
  if (!(text as string & { isWellFormed(): boolean }).isWellFormed())
    throw new RowError(`${what} contains an unpaired UTF-16 surrogate (a broken \\uD8xx escape)`);
  if (text.length > maxChars)
    throw new RowError(
      `${what} is ${text.length.toLocaleString("en")} characters, over the limit of ${maxChars.toLocaleString("en")} (PAIRWISE_MAX_TEXT_CHARS)`,
    );
  return text;
}

function checkMessages(v: unknown, what: string, maxChars: number): ChatMessage[] {
  if (!Array.isArray(v))
    throw new RowError(`${what} must be a list of {role, content} messages, got ${typeName(v)}`);
  if (v.length === 0) throw new RowError(`${what} is an empty conversation`);
  return v.map((m, i) => {
    if (!isObj(m)) throw new RowError(`${what}[${i}] must be an object {role, content}, got ${typeName(m)}`);
    if (typeof m.role !== "string" || !ROLES.has(m.role))
      throw new RowError(
        `${what}[${i}].role must be one of system, user, assistant, tool; got ${JSON.stringify(m.role)}`,
      );
    if (typeof m.content !== "string")
      throw new RowError(`${what}[${i}].content must be a string, got ${typeName(m.content)}`);
    return {
      role: m.role as ChatMessage["role"],
      content: checkText(m.content, `${what}[${i}].content`, maxChars),
    };
  });
}

function promptOf(v: unknown, maxChars: number, what = "prompt"): PromptContent {
  if (Array.isArray(v)) return { messages: checkMessages(v, what, maxChars) };
  return { text: checkText(v, what, maxChars) };
}

function optString(row: Obj, key: string): string | undefined {
  const v = row[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new RowError(`${key} must be a string, got ${typeName(v)}`);
  if (v.includes("\u0000"))
    throw new RowError(`${key} contains a NUL character (\\u0000), which PostgreSQL text cannot store`);
  // Cut at 200 characters, never inside a surrogate pair; a lone surrogate is refused.
  const cut = [...v].slice(0, 200).join("").slice(0, 200);
  const out = /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
  if (!(out as string & { isWellFormed(): boolean }).isWellFormed())
    throw new RowError(`${key} contains an unpaired UTF-16 surrogate (a broken \\uD8xx escape)`);
  return out;
}

function optMetadata(row: Obj, key = "metadata"): Obj | undefined {
  const v = row[key];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw new RowError(`${key} must be an object, got ${typeName(v)}`);
  return v;
}

function marginOf(row: Obj): number {
  const v = row.margin;
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isFinite(v))
    throw new RowError(`margin must be a number, got ${typeName(v)}`);
  return v;
}

/** The assistant message a conversational chosen/rejected side holds. */
function singleAssistant(v: Obj[] | ChatMessage[], what: string): string {
  if (v.length !== 1)
    throw new RowError(`${what} must hold exactly one assistant message after the prompt, got ${v.length}`);
  const m = v[0] as ChatMessage;
  if (m.role !== "assistant")
    throw new RowError(`${what} must be an assistant message, got role "${m.role}"`);
  return m.content;
}

function sameMessage(a: ChatMessage, b: ChatMessage) {
  return a.role === b.role && a.content === b.content;
}

const HH_MARKER = /\n\n(Human|Assistant|System): ?/g;
const HH_ROLE: Record<string, ChatMessage["role"]> = {
  Human: "user",
  Assistant: "assistant",
  System: "system",
};

/** "\n\nHuman: hi\n\nAssistant: hello" -> [{user, "hi"}, {assistant, "hello"}]. */
export function parseHHTranscript(s: string, what: string): ChatMessage[] {
  return parseHHTurns(s, what).messages;
}

/**
 * The turns of a transcript, and which of them were written without the space after "Human:" /
 * "Assistant:" (rare in the wild, but a file must export byte for byte as it was imported).
 */
export function parseHHTurns(s: string, what: string): { messages: ChatMessage[]; unspaced: number[] } {
  const marks = [...s.matchAll(HH_MARKER)];
  if (!marks.length || marks[0]!.index !== 0) {
    throw new RowError(
      `${what} is not an HH-RLHF transcript: it must start with "\\n\\nHuman: " and alternate "\\n\\nHuman: " / "\\n\\nAssistant: " turns`,
    );
  }
  return {
    messages: marks.map((m, i) => ({
      role: HH_ROLE[m[1]!]!,
      content: s.slice(m.index! + m[0].length, i + 1 < marks.length ? marks[i + 1]!.index : s.length),
    })),
    unspaced: marks.flatMap((m, i) => (m[0].endsWith(" ") ? [] : [i])),
  };
}

/** Messages -> "\n\nHuman: ...\n\nAssistant: ..."; turns listed in `unspaced` get no space after the colon. */
export function renderHHTranscript(
  messages: readonly ChatMessage[],
  unspaced: readonly number[] = [],
): string {
  const name = { user: "Human", assistant: "Assistant", system: "System", tool: "Human" } as const;
  return messages
    .map((m, i) => `\n\n${name[m.role]}:${unspaced.includes(i) ? "" : " "}${m.content}`)
    .join("");
}

/**
 * Where an HH row's markers without a space are remembered: the prompt's metadata lists its turns
 * ({hh: {unspaced: [0]}}), a completion's metadata marks its own turn ({hh: {unspaced: true}}).
 * Absent in the usual case (every marker followed by its space).
 */
export const HH_METADATA_KEY = "hh";

function splitConversations(
  chosen: ChatMessage[],
  rejected: ChatMessage[],
  what: string,
): { prompt: ChatMessage[]; chosen: string; rejected: string } {
  const lastC = chosen.length - 1;
  const lastR = rejected.length - 1;
  if (chosen[lastC]?.role !== "assistant")
    throw new RowError(`${what}: chosen must end with an assistant turn`);
  if (rejected[lastR]?.role !== "assistant")
    throw new RowError(`${what}: rejected must end with an assistant turn`);
  const prompt = chosen.slice(0, lastC);
  const other = rejected.slice(0, lastR);
  if (prompt.length !== other.length || !prompt.every((m, i) => sameMessage(m, other[i]!))) {
    throw new RowError(
      `${what}: chosen and rejected must share the same conversation before their last assistant turn`,
    );
  }
  if (prompt.length === 0) throw new RowError(`${what}: there is no prompt before the final assistant turn`);
  return { prompt, chosen: chosen[lastC]!.content, rejected: rejected[lastR]!.content };
}

function preference(
  format: RowFormat,
  row: Obj,
  prompt: PromptContent,
  chosenText: string,
  rejectedText: string,
  maxChars: number,
): ImportRow {
  const chosen = checkText(chosenText, "chosen", maxChars);
  const rejected = checkText(rejectedText, "rejected", maxChars);
  if (chosen === rejected)
    throw new RowError("chosen and rejected are the same text: there is nothing to prefer");
  return {
    kind: "comparison",
    format,
    project: optString(row, "project"),
    prompt,
    completions: [
      { text: chosen, model: optString(row, "chosen_model") },
      { text: rejected, model: optString(row, "rejected_model") },
    ],
    judgment: { kind: "win", chosen: 0, rejected: 1, margin: marginOf(row) },
    metadata: optMetadata(row),
  };
}

function rankingOf(v: unknown, k: number): number[][] {
  if (!Array.isArray(v) || v.length === 0)
    throw new RowError(
      `ranking must be a non-empty list of completion indices (best first), got ${typeName(v)}`,
    );
  const groups = v.map((g) => (Array.isArray(g) ? g : [g]));
  const seen = new Set<number>();
  for (const g of groups) {
    if (g.length === 0) throw new RowError("ranking has an empty group");
    for (const i of g) {
      if (typeof i !== "number" || !Number.isInteger(i) || i < 0 || i >= k)
        throw new RowError(`ranking index ${JSON.stringify(i)} is not a completion index 0..${k - 1}`);
      if (seen.has(i)) throw new RowError(`ranking lists completion ${i} twice`);
      seen.add(i);
    }
  }
  if (seen.size < 2) throw new RowError("ranking must rank at least two completions");
  return groups as number[][];
}

/** Detect a row's format and validate it; throws RowError with the reason. */
export function parseRow(value: unknown, opts: { maxTextChars: number }): ImportRow {
  const max = opts.maxTextChars;
  if (!isObj(value)) throw new RowError(`expected a JSON object, got ${typeName(value)}`);
  const row = value;
  const has = (k: string) => row[k] !== undefined && row[k] !== null;

  if (has("input") || has("preferred_output") || has("non_preferred_output")) {
    if (!isObj(row.input))
      throw new RowError("input must be an object {messages: [...]} (OpenAI preference format)");
    const prompt = checkMessages(row.input.messages, "input.messages", max);
    const chosen = singleAssistant(
      checkMessages(row.preferred_output, "preferred_output", max),
      "preferred_output",
    );
    const rejected = singleAssistant(
      checkMessages(row.non_preferred_output, "non_preferred_output", max),
      "non_preferred_output",
    );
    return preference("openai_preference", row, { messages: prompt }, chosen, rejected, max);
  }

  if (has("chosen") || has("rejected")) {
    if (!has("chosen")) throw new RowError('missing field "chosen"');
    if (!has("rejected")) throw new RowError('missing field "rejected"');
    const c = row.chosen;
    const r = row.rejected;
    if (has("prompt")) {
      if (typeof row.prompt === "string") {
        if (typeof c !== "string" || typeof r !== "string")
          throw new RowError(
            "with a string prompt, chosen and rejected must be strings (TRL standard format)",
          );
        return preference("trl", row, promptOf(row.prompt, max), c, r, max);
      }
      const prompt = promptOf(row.prompt, max);
      if (!Array.isArray(c) || !Array.isArray(r))
        throw new RowError(
          'with a conversation prompt, chosen and rejected must be conversations [{role: "assistant", content}] (TRL conversational format)',
        );
      const ct = singleAssistant(checkMessages(c, "chosen", max), "chosen");
      const rt = singleAssistant(checkMessages(r, "rejected", max), "rejected");
      return preference("trl_conversational", row, prompt, ct, rt, max);
    }
    if (typeof c === "string" && typeof r === "string") {
      const ct = parseHHTurns(c, "chosen");
      const rt = parseHHTurns(r, "rejected");
      const split = splitConversations(ct.messages, rt.messages, "HH-RLHF row");
      for (const [i, m] of split.prompt.entries()) checkText(m.content, `prompt turn ${i + 1}`, max);
      const parsed = preference("hh", row, { messages: split.prompt }, split.chosen, split.rejected, max);
      if (parsed.kind !== "comparison") return parsed;
      const last = split.prompt.length; // index of the final assistant turn
      const promptUnspaced = ct.unspaced.filter((i) => i < last);
      if (promptUnspaced.length) parsed.promptMetadata = { [HH_METADATA_KEY]: { unspaced: promptUnspaced } };
      const mark = (k: 0 | 1, unspaced: number[]) => {
        if (unspaced.includes(last))
          parsed.completions[k]!.metadata = { [HH_METADATA_KEY]: { unspaced: true } };
      };
      mark(0, ct.unspaced);
      mark(1, rt.unspaced);
      return parsed;
    }
    if (Array.isArray(c) && Array.isArray(r)) {
      const split = splitConversations(
        checkMessages(c, "chosen", max),
        checkMessages(r, "rejected", max),
        "implicit-prompt row",
      );
      return preference("trl_implicit", row, { messages: split.prompt }, split.chosen, split.rejected, max);
    }
    throw new RowError(
      `chosen and rejected must both be strings or both be conversations, got ${typeName(c)} and ${typeName(r)}`,
    );
  }

  if (has("completions")) {
    if (!has("prompt")) throw new RowError('missing field "prompt"');
    const prompt = promptOf(row.prompt, max);
    const list = row.completions;
    if (!Array.isArray(list)) throw new RowError(`completions must be a list, got ${typeName(list)}`);
    if (list.length < 2 || list.length > MAX_COMPLETIONS)
      throw new RowError(`completions must hold 2 to ${MAX_COMPLETIONS} completions, got ${list.length}`);
    const completions = list.map((c, i): CompletionIn => {
      if (typeof c === "string") return { text: checkText(c, `completions[${i}]`, max) };
      if (!isObj(c))
        throw new RowError(`completions[${i}] must be a string or {text, model}, got ${typeName(c)}`);
      return {
        text: checkText(c.text, `completions[${i}].text`, max),
        model: optString(c, "model"),
        metadata: optMetadata(c),
      };
    });
    const texts = new Set(completions.map((c) => c.text));
    if (texts.size !== completions.length) throw new RowError("completions holds the same text twice");
    const judgment: RowJudgment | undefined = has("ranking")
      ? { kind: "ranking", groups: rankingOf(row.ranking, completions.length) }
      : undefined;
    return {
      kind: "comparison",
      format: "completions",
      project: optString(row, "project"),
      prompt,
      completions,
      judgment,
      metadata: optMetadata(row),
    };
  }

  if (has("messages")) {
    const messages = checkMessages(row.messages, "messages", max);
    const last = messages[messages.length - 1]!;
    if (last.role === "assistant" && messages.length > 1) {
      return {
        kind: "completion",
        format: "chat",
        project: optString(row, "project"),
        prompt: { messages: messages.slice(0, -1) },
        completion: { text: last.content, model: optString(row, "model") },
        metadata: optMetadata(row),
      };
    }
    return {
      kind: "prompt",
      format: "chat",
      project: optString(row, "project"),
      prompt: { messages },
      metadata: optMetadata(row),
    };
  }

  if (has("prompt"))
    return {
      kind: "prompt",
      format: "prompt",
      project: optString(row, "project"),
      prompt: promptOf(row.prompt, max),
      metadata: optMetadata(row),
    };

  const keys = Object.keys(row).slice(0, 5);
  throw new RowError(
    `unrecognised row${keys.length ? ` (fields: ${keys.join(", ")})` : " (empty object)"}: expected {prompt}, {prompt, completions}, {prompt, chosen, rejected}, {chosen, rejected} (HH-RLHF), {messages} or {input, preferred_output, non_preferred_output}`,
  );
}
