// Fitting a prompt into a small model's context. The trainer's generate keeps the end of a prompt
// that is too long but then has room for a single new token; `pairwise serve` instead trims the
// prompt from the start (whole messages first, like vLLM's left truncation), so that
// min(max_tokens, context/2) tokens remain for the answer. Our checkpoints have short contexts
// (256 for the tiny preset), and judge rubrics put their instructions first and the answers last.
import type { BpeTokenizer, ChatMessage } from "@/trainer";

const SPECIALS = { allowedSpecial: ["<think>", "</think>"] as ["<think>", "</think>"] };

/** Prompt length in tokens as generate encodes it (BOS included). */
export function promptTokens(tok: BpeTokenizer, prompt: string | ChatMessage[]): number {
  return (
    1 +
    (typeof prompt === "string"
      ? tok.encode(prompt, SPECIALS).length
      : tok.encodeChat(prompt, { addGenerationPrompt: true }).ids.length)
  );
}

function dropFront(prompt: string | ChatMessage[], chars: number): string | ChatMessage[] {
  if (typeof prompt === "string") return prompt.slice(chars);
  const out: ChatMessage[] = [];
  let left = chars;
  for (const m of prompt) {
    if (left >= m.content.length && out.length === 0 && m !== prompt[prompt.length - 1]) {
      left -= m.content.length;
      continue; // drop the whole message
    }
    if (out.length === 0 && left > 0) {
      out.push({ ...m, content: m.content.slice(Math.min(left, m.content.length)) });
      left = 0;
    } else out.push(m);
  }
  return out;
}

export interface FittedPrompt {
  prompt: string | ChatMessage[];
  tokens: number;
  /** Characters dropped from the start (0 = untouched). */
  droppedChars: number;
}

/** Trims the prompt's start until it is at most `limit` tokens (binary search over characters). */
export function fitPrompt(tok: BpeTokenizer, prompt: string | ChatMessage[], limit: number): FittedPrompt {
  const full = promptTokens(tok, prompt);
  if (full <= limit) return { prompt, tokens: full, droppedChars: 0 };
  const total = typeof prompt === "string" ? prompt.length : prompt.reduce((n, m) => n + m.content.length, 0);
  let lo = 1;
  let hi = total;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (promptTokens(tok, dropFront(prompt, mid)) <= limit) hi = mid;
    else lo = mid + 1;
  }
  const trimmed = dropFront(prompt, lo);
  return { prompt: trimmed, tokens: promptTokens(tok, trimmed), droppedChars: lo };
}
