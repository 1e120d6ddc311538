// The annotator's draft for one assignment, kept in localStorage so that a reload, a lost
// network or an expired lease never loses what they typed. The idempotency key lives here too:
// every retry of this assignment's submit sends the same key.
import type { RankItem } from "./ranking-model";

export type Choice = "A" | "B" | "tie" | "both_bad";

export interface Draft {
  key: string;
  choice?: Choice;
  strength?: 1 | 2;
  reasoningChoice?: Choice;
  reasoningStrength?: 1 | 2;
  rationale: string;
  /** axis → completion id → score */
  ratings: Record<string, Record<string, number>>;
  ranking?: RankItem[];
  /** The annotator moved, tied or left out a completion, or kept the order shown on purpose (O). */
  rankingDecided?: boolean;
  savedAt: number;
}

const PREFIX = "pairwise:draft:";
const MAX_AGE_MS = 7 * 86_400_000;

function newKey(): string {
  return typeof crypto !== "undefined" && "randomUUID" in crypto
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}

export function emptyDraft(): Draft {
  return { key: newKey(), rationale: "", ratings: {}, savedAt: Date.now() };
}

export function loadDraft(assignmentId: string): Draft | null {
  try {
    const raw = window.localStorage.getItem(PREFIX + assignmentId);
    if (!raw) return null;
    const d = JSON.parse(raw) as Draft;
    if (typeof d.key !== "string" || Date.now() - d.savedAt > MAX_AGE_MS) return null;
    return { ...d, rationale: d.rationale ?? "", ratings: d.ratings ?? {} };
  } catch {
    return null;
  }
}

export function saveDraft(assignmentId: string, draft: Draft): void {
  try {
    window.localStorage.setItem(PREFIX + assignmentId, JSON.stringify({ ...draft, savedAt: Date.now() }));
  } catch {
    /* storage full or disabled: the draft lives in memory only */
  }
}

export function dropDraft(assignmentId: string): void {
  try {
    window.localStorage.removeItem(PREFIX + assignmentId);
    // housekeeping: forget drafts older than a week
    for (let i = window.localStorage.length - 1; i >= 0; i--) {
      const k = window.localStorage.key(i);
      if (!k?.startsWith(PREFIX)) continue;
      const d = JSON.parse(window.localStorage.getItem(k) ?? "{}") as Partial<Draft>;
      if (!d.savedAt || Date.now() - d.savedAt > MAX_AGE_MS) window.localStorage.removeItem(k);
    }
  } catch {
    /* ignore */
  }
}

/** Whether the draft holds anything the annotator would mind losing. */
export function draftHasContent(d: Draft | null): boolean {
  return (
    !!d &&
    (!!d.choice ||
      !!d.reasoningChoice ||
      d.rationale.trim().length > 0 ||
      Object.keys(d.ratings).length > 0 ||
      !!d.rankingDecided)
  );
}
