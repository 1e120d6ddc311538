// Reading a judge's reply: the verdict marker and, where the endpoint returned logprobs, how sure
// the model was of it. Never guesses: a reply without a clear marker is "unparseable".
export type VerdictLetter = "A" | "B" | "C"; // C = tie

export type ParsedVerdict =
  | { ok: true; verdict: VerdictLetter; /** index of the letter in the reply */ letterIndex: number }
  | { ok: false; reason: string };

// [[A]], [[ B ]], [[c]]: whitespace inside the brackets is tolerated, case is normalised.
const MARKER_RE = /\[\[\s*([ABCabc])\s*\]\]/g;
// A marker followed by "if assistant ..." or "for a tie" is the judge repeating the instructions,
// not ruling (`"[[A]]" if assistant A is better, ... "[[C]]" for a tie`).
const ECHO_AFTER_RE =
  /^["'\u201d\u2019`*]*\s*(?:if\s+(?:assistant|the\s+assistant|response|answer)|for\s+a\s+tie)/i;

/** The verdict is the LAST marker that is not an echo of the instructions. */
export function parseVerdict(reply: string | null | undefined): ParsedVerdict {
  if (reply == null || reply.trim() === "") return { ok: false, reason: "empty reply" };
  let last: { verdict: VerdictLetter; letterIndex: number } | null = null;
  let echoes = 0;
  for (const m of reply.matchAll(MARKER_RE)) {
    const after = reply.slice((m.index ?? 0) + m[0].length, (m.index ?? 0) + m[0].length + 40);
    if (ECHO_AFTER_RE.test(after)) {
      echoes++;
      continue;
    }
    const letter = (m[1] as string).toUpperCase() as VerdictLetter;
    last = { verdict: letter, letterIndex: (m.index ?? 0) + m[0].indexOf(m[1] as string) };
  }
  if (last) return { ok: true, ...last };
  return {
    ok: false,
    reason: echoes
      ? "the reply only repeats the verdict instructions; no [[A]]/[[B]]/[[C]] ruling"
      : "no [[A]]/[[B]]/[[C]] verdict marker in the reply",
  };
}

/** OpenAI chat-completions logprobs (choices[i].logprobs.content). */
export interface TokenLogprob {
  token: string;
  logprob: number;
  top_logprobs?: { token: string; logprob: number }[] | null;
}

const normToken = (t: string) => t.replace(/[\s[\]"'*]/g, "").toUpperCase();

export interface VerdictProbabilities {
  /** Probability mass of the chosen letter at the verdict position (summed over token variants). */
  chosen: number;
  /** Mass of each letter among the returned alternatives (0 where absent). */
  byLetter: Record<VerdictLetter, number>;
}

/**
 * Probability of the verdict letter, from the logprobs of the token that produced it. Finds that
 * token by character offset (the tokens concatenate to the reply); returns null when the endpoint
 * sent no logprobs or the letter's token cannot be located with certainty.
 */
export function verdictProbabilities(
  reply: string,
  parsed: Extract<ParsedVerdict, { ok: true }>,
  logprobs: readonly TokenLogprob[] | null | undefined,
): VerdictProbabilities | null {
  if (!logprobs || logprobs.length === 0) return null;
  let at: TokenLogprob | undefined;
  if (logprobs.map((t) => t.token).join("") === reply) {
    let pos = 0;
    for (const t of logprobs) {
      if (parsed.letterIndex >= pos && parsed.letterIndex < pos + t.token.length) {
        at = t;
        break;
      }
      pos += t.token.length;
    }
  } else {
    // Some servers strip or merge text; fall back to the last token that is the letter alone.
    for (let i = logprobs.length - 1; i >= 0; i--) {
      if (normToken((logprobs[i] as TokenLogprob).token) === parsed.verdict) {
        at = logprobs[i];
        break;
      }
    }
  }
  if (!at || normToken(at.token) !== parsed.verdict) return null;
  const byLetter: Record<VerdictLetter, number> = { A: 0, B: 0, C: 0 };
  const alternatives = at.top_logprobs?.length ? [...at.top_logprobs] : [];
  if (!alternatives.some((a) => a.token === at.token))
    alternatives.push({ token: at.token, logprob: at.logprob });
  for (const a of alternatives) {
    const n = normToken(a.token);
    if (n === "A" || n === "B" || n === "C") byLetter[n] += Math.exp(a.logprob);
  }
  for (const k of ["A", "B", "C"] as const) byLetter[k] = Math.min(1, byLetter[k]);
  return { chosen: byLetter[parsed.verdict], byLetter };
}
