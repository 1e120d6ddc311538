// What an environment is: a task with verifiable answers to train (GRPO) and evaluate on. Each has a
// seeded prompt generator with disjoint train / held-out splits, a checker, and a difficulty knob;
// problems are plain JSON, so the server stores them in a prompt's metadata and any process can
// check a completion later (an environment is also a rule judge). Multi-turn environments (games)
// also play whole episodes against fixed strategies.
import type { CheckResult } from "../rewards";
import { mixSeed, Rng } from "../rng";
import type { ChatMessage } from "../tokenizer";

export type Split = "train" | "test";

export interface ProblemOptions {
  split: Split;
  n: number;
  seed?: number;
  /** The difficulty knob: 1 (easiest) .. the environment's max. */
  difficulty?: number;
}

/** A policy as an environment sees it: a conversation in, a completion out. */
export type PolicyFn = (prompt: ChatMessage[]) => Promise<string>;

export interface GameResult {
  opponent: string;
  games: number;
  win: number;
  draw: number;
  loss: number;
  /** Games lost by an illegal or unreadable move. */
  forfeits: number;
}

export interface Environment<P = unknown> {
  name: string;
  title: string;
  description: string;
  maxDifficulty: number;
  defaultDifficulty: number;
  /** Problems of a split; the same (split, seed, difficulty) always gives the same list. */
  problems(o: ProblemOptions): P[];
  /** A stable id of a problem (the split is a hash of it). */
  key(p: P): string;
  prompt(p: P): ChatMessage[];
  /** A right completion, in the format the checker asks for (SFT bootstrap, tests). */
  target(p: P): string;
  check(p: P, completion: string): CheckResult | Promise<CheckResult>;
  /** Checks that a JSON value (from a prompt's metadata) is a problem of this environment. */
  parse(json: unknown): P | null;
  /** Multi-turn: plays whole games against each fixed opponent and reports win/draw/loss. */
  opponents?: readonly string[];
  play?(policy: PolicyFn, o: { opponent: string; games: number; seed?: number }): Promise<GameResult>;
}

/** FNV-1a of a string (32 bits). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The split a problem key belongs to: one in five keys is held out, by hash (disjoint by construction). */
export function splitOfKey(key: string): Split {
  return fnv1a(`split:${key}`) % 5 === 0 ? "test" : "train";
}

/**
 * Draws `n` distinct problems of one split from a generator: candidates come from a generator seeded
 * by (seed, split), and only those whose key hashes to the split are kept.
 */
export function drawSplit<P>(
  o: ProblemOptions,
  key: (p: P) => string,
  make: (rng: Rng) => P,
  maxTries = 200,
): P[] {
  const rng = new Rng(mixSeed(o.seed ?? 0, o.split === "train" ? 1 : 2, o.difficulty ?? 1));
  const out: P[] = [];
  const seen = new Set<string>();
  let misses = 0;
  while (out.length < o.n) {
    const p = make(rng);
    const k = key(p);
    if (splitOfKey(k) !== o.split || seen.has(k)) {
      if (++misses > maxTries * Math.max(1, o.n)) break; // a small problem space: return what exists
      continue;
    }
    seen.add(k);
    out.push(p);
  }
  return out;
}

/** The final answer after the last </think>: what follows "answer is" up to the end (trailing "." dropped). */
export function finalAnswer(text: string): string | null {
  const end = text.lastIndexOf("</think>");
  const tail = end >= 0 ? text.slice(end + "</think>".length) : text;
  const m = /answer is\s*([\s\S]*?)\s*\.?\s*$/i.exec(tail);
  return m ? (m[1] as string).trim() : null;
}

/** `<think>…</think>The answer is X.` with nothing else. */
export function answerFormatOk(text: string): boolean {
  return /^\s*<think>(?:(?!<\/?think>)[\s\S])+<\/think>\s*The answer is [^<]+?\.?\s*$/.test(text);
}

export function clampDifficulty(
  env: { maxDifficulty: number; defaultDifficulty: number },
  d?: number,
): number {
  return Math.min(env.maxDifficulty, Math.max(1, Math.round(d ?? env.defaultDifficulty)));
}
