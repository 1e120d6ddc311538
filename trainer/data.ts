// Turning examples into token sequences and padded batches.
//
// A sequence is ids plus a loss mask over the same positions (1 = this token is trained on /
// counted in the completion log-prob). A batch shifts them: inputs = ids[:-1], targets = ids[1:],
// mask = lossMask[1:], right-padded with <|pad|> to a common length.
import * as tf from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import type { BpeTokenizer, ChatMessage } from "./tokenizer";

export interface TokenSequence {
  ids: number[];
  /** 1 where the token is a completion/trained token, 0 for prompt tokens. Same length as ids. */
  lossMask: number[];
}

/** What SFT accepts: raw text (trained on whole), prompt + completion, or a conversation. */
export type SftExample =
  | string
  | { text: string }
  | { prompt: string | ChatMessage[]; completion: string | ChatMessage[] }
  | { messages: ChatMessage[] };

/** A preference pair (TRL's {prompt, chosen, rejected}), optionally with a margin/weight/smoothing. */
export interface PreferencePair {
  prompt: string | ChatMessage[];
  chosen: string | ChatMessage[];
  rejected: string | ChatMessage[];
  /** Reward-model margin m in -log σ(r_c - r_r - m). */
  margin?: number;
  /** Per-pair label smoothing ε for cdpo/robust (probability the label is flipped). */
  labelSmoothing?: number;
  /** Stable id of the pair (for the reference log-prob cache); default: a hash of its content. */
  key?: string;
}

/** An unpaired thumbs-up/down example for KTO. */
export interface UnpairedExample {
  prompt: string | ChatMessage[];
  completion: string | ChatMessage[];
  /** true = desirable (thumbs up). */
  label: boolean;
  key?: string;
}

/**
 * Prompt ids. A string prompt is encoded raw after a leading <|endoftext|> (BOS); a conversation
 * goes through the chat template with the generation prompt ("<|assistant|>") appended.
 */
export function encodePrompt(tok: BpeTokenizer, prompt: string | ChatMessage[]): number[] {
  if (typeof prompt !== "string")
    return [...tok.chatPrefixIds, ...tok.encodeChat(prompt, { addGenerationPrompt: true }).ids];
  return [...tok.textPrefixIds, ...tok.encode(prompt, { allowedSpecial: ["<think>", "</think>"] })];
}

/**
 * Completion ids: a string completion is followed by <|endoftext|> after a raw prompt, or by <|end|>
 * after a chat prompt; a conversation completion (assistant messages) is its content + <|end|>.
 */
export function encodeCompletion(
  tok: BpeTokenizer,
  completion: string | ChatMessage[],
  chatPrompt: boolean,
): number[] {
  if (typeof completion !== "string") {
    const ids: number[] = [];
    completion.forEach((m, i) => {
      if (i > 0) ids.push(tok.special[`<|${m.role}|>`]);
      ids.push(...tok.encode(m.content, { allowedSpecial: ["<think>", "</think>"] }), tok.endId);
    });
    return ids;
  }
  return [
    ...tok.encode(completion, { allowedSpecial: ["<think>", "</think>"] }),
    chatPrompt ? tok.endId : tok.eosId,
  ];
}

/**
 * prompt + completion with the loss mask on the completion only. Over maxLength, the prompt loses
 * tokens from its start (after BOS) first, so the completion, which carries the signal, survives;
 * a completion longer than maxLength - 2 is cut at its end.
 */
export function promptCompletionSequence(
  tok: BpeTokenizer,
  prompt: string | ChatMessage[],
  completion: string | ChatMessage[],
  maxLength: number,
): TokenSequence {
  let p = encodePrompt(tok, prompt);
  let c = encodeCompletion(tok, completion, typeof prompt !== "string");
  if (p.length + c.length > maxLength) {
    c = c.slice(0, Math.max(1, maxLength - 2));
    const keep = Math.max(1, maxLength - c.length);
    if (p.length > keep) p = [p[0] as number, ...p.slice(p.length - (keep - 1))].slice(0, keep);
  }
  const ids = [...p, ...c];
  const lossMask = ids.map((_, i) => (i >= p.length ? 1 : 0));
  return { ids, lossMask };
}

/** SFT example -> sequence. Text: all tokens trained. Prompt/completion: completion only. Chat: assistant turns. */
export function sftSequence(tok: BpeTokenizer, ex: SftExample, maxLength: number): TokenSequence {
  if (typeof ex === "string" || "text" in ex) {
    const text = typeof ex === "string" ? ex : ex.text;
    const pre = tok.textPrefixIds;
    const ids = [...pre, ...tok.encode(text), tok.eosId].slice(0, maxLength);
    return { ids, lossMask: ids.map((_, i) => (i < Math.max(1, pre.length) ? 0 : 1)) };
  }
  if ("messages" in ex) {
    const { ids, assistantMask } = tok.encodeChat(ex.messages);
    return {
      ids: [...tok.chatPrefixIds, ...ids].slice(0, maxLength),
      lossMask: [...tok.chatPrefixIds.map(() => 0), ...assistantMask].slice(0, maxLength),
    };
  }
  return promptCompletionSequence(tok, ex.prompt, ex.completion, maxLength);
}

/** Stable content hash for pair keys. */
export function contentKey(...parts: unknown[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 32);
}

export function pairKey(p: PreferencePair): string {
  return p.key ?? contentKey(p.prompt, p.chosen, p.rejected);
}

/** A padded batch on the active backend. Dispose with `disposeBatch`. */
export interface Batch {
  inputs: tf.Tensor2D; // (B, T) int32
  targets: tf.Tensor2D; // (B, T) int32
  mask: tf.Tensor2D; // (B, T) float32, 1 on trained/completion targets
  /** Completion token count per row (JS). */
  counts: number[];
  /** Unpadded input length per row (JS). */
  lengths: number[];
  B: number;
  T: number;
}

/**
 * Shifts and right-pads sequences into a Batch; T is rounded up to a multiple of padMultiple but
 * never past maxT (the model's contextLength).
 */
export function makeBatch(
  seqs: readonly TokenSequence[],
  padId: number,
  padMultiple = 1,
  maxT = Infinity,
): Batch {
  if (seqs.length === 0) throw new Error("makeBatch: no sequences");
  const lengths = seqs.map((s) => Math.max(1, s.ids.length - 1));
  const maxLen = Math.max(...lengths);
  const T = Math.min(Math.ceil(maxLen / padMultiple) * padMultiple, Math.max(maxLen, maxT));
  const B = seqs.length;
  const inp = new Int32Array(B * T).fill(padId);
  const tgt = new Int32Array(B * T).fill(padId);
  const msk = new Float32Array(B * T);
  const counts: number[] = [];
  seqs.forEach((s, b) => {
    if (s.ids.length !== s.lossMask.length) throw new Error("sequence ids and lossMask differ in length");
    let n = 0;
    for (let t = 0; t + 1 < s.ids.length; t++) {
      inp[b * T + t] = s.ids[t] as number;
      tgt[b * T + t] = s.ids[t + 1] as number;
      const m = s.lossMask[t + 1] as number;
      msk[b * T + t] = m;
      n += m;
    }
    if (s.ids.length === 1) inp[b * T] = s.ids[0] as number;
    counts.push(n);
  });
  return {
    inputs: tf.tensor2d(inp, [B, T], "int32"),
    targets: tf.tensor2d(tgt, [B, T], "int32"),
    mask: tf.tensor2d(msk, [B, T], "float32"),
    counts,
    lengths,
    B,
    T,
  };
}

export function disposeBatch(b: Batch): void {
  tf.dispose([b.inputs, b.targets, b.mask]);
}

/** Full (unshifted) ids right-padded, plus the index of each row's last real token (for reward models). */
export function makeScoreBatch(
  seqs: readonly number[][],
  padId: number,
  padMultiple = 1,
  maxT = Infinity,
): { ids: tf.Tensor2D; lastIndex: tf.Tensor1D; B: number; T: number } {
  const maxLen = Math.max(...seqs.map((s) => s.length));
  const T = Math.min(Math.ceil(maxLen / padMultiple) * padMultiple, Math.max(maxLen, maxT));
  const B = seqs.length;
  const ids = new Int32Array(B * T).fill(padId);
  const last = new Int32Array(B);
  seqs.forEach((s, b) => {
    if (s.length === 0) throw new Error("makeScoreBatch: empty sequence");
    ids.set(s, b * T);
    last[b] = s.length - 1;
  });
  return { ids: tf.tensor2d(ids, [B, T], "int32"), lastIndex: tf.tensor1d(last, "int32"), B, T };
}
