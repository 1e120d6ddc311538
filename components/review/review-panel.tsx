"use client";
// The reviewer's view of one comparison: prompt, completions in stored order (A, B, ...), every
// vote with its rationale, flags, and the ruling form (keys as for annotators; Enter rules).
import { ownsEnter } from "@/components/annotate/use-annotate-keys";
import { useEffect, useRef, useState } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useMutation } from "@tanstack/react-query";
import { useTRPC, type RouterOutputs } from "@/components/trpc";
import { CompletionCard, PromptView } from "@/components/annotate/content";
import { errorMessage } from "@/components/annotate/errors";

/** One comparison with every vote on it, as review.item returns it (the page passes it as is). */
type Item = RouterOutputs["review"]["item"];

type Choice = "A" | "B" | "tie" | "both_bad";

function newIdempotencyKey(): string {
  return typeof crypto !== "undefined" && "randomUUID" in crypto
    ? crypto.randomUUID()
    : `${Date.now()}-${Math.random()}`;
}

export function ReviewPanel({ item }: { item: Item }) {
  const trpc = useTRPC();
  const router = useRouter();
  const adjudicate = useMutation(trpc.review.adjudicate.mutationOptions());
  const reopen = useMutation(trpc.review.reopen.mutationOptions());
  const [choice, setChoice] = useState<Choice | null>(null);
  const [strength, setStrength] = useState<1 | 2>(1);
  const [order, setOrder] = useState(item.completions.map((c) => c.label).join(""));
  const [rationale, setRationale] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [idempotencyKey] = useState(newIdempotencyKey);
  const pairwise = item.project.labelSchema.kind === "pairwise";
  const schema = item.project.labelSchema;

  const rule = async () => {
    setMessage(null);
    let answer;
    if (pairwise) {
      if (!choice) return setMessage("Choose A, B, tie or both bad first.");
      answer = {
        kind: "pairwise" as const,
        choice,
        strength: choice === "A" || choice === "B" ? strength : undefined,
      };
    } else {
      // "AB=C" or "A>B=C": letters best-first; "=" joins a tie
      const groups = order
        .toUpperCase()
        .replace(/\s|>/g, "")
        .split("")
        .reduce<string[][]>((acc, ch, i, all) => {
          if (ch === "=") return acc;
          const id = item.completions.find((c) => c.label === ch)?.id;
          if (!id) return acc;
          if (all[i - 1] === "=" && acc.length) acc[acc.length - 1]!.push(id);
          else acc.push([id]);
          return acc;
        }, []);
      answer = { kind: "ranking" as const, ranking: groups };
    }
    try {
      const r = await adjudicate.mutateAsync({
        comparisonId: item.id,
        idempotencyKey,
        answer,
        rationale: rationale.trim() || undefined,
      });
      setDone(`Ruling recorded; the comparison is now ${r.status}.`);
      router.refresh();
    } catch (e) {
      setMessage(errorMessage(e));
    }
  };

  const onKey = useRef<(e: KeyboardEvent) => void>(() => {});
  const handleKey = (e: KeyboardEvent) => {
    const t = e.target as HTMLElement | null;
    if (t && (t.tagName === "TEXTAREA" || t.tagName === "INPUT")) {
      if (e.key === "Escape") t.blur();
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void rule();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || done) return;
    const k = e.key.toLowerCase();
    if (pairwise && ({ a: "A", b: "B", t: "tie", x: "both_bad" } as Record<string, Choice>)[k])
      setChoice(({ a: "A", b: "B", t: "tie", x: "both_bad" } as Record<string, Choice>)[k]!);
    else if (k === "1" || k === "2") setStrength(k === "1" ? 1 : 2);
    else if (k === "r") {
      e.preventDefault();
      document.getElementById("review-rationale")?.focus();
    } else if (e.key === "Enter" && !ownsEnter(t)) {
      // Enter on a focused link, button or summary does what it does there, not a ruling
      e.preventDefault();
      void rule();
    }
  };
  // The window listener reads the latest handler through the ref, refreshed after every render.
  useEffect(() => {
    onKey.current = handleKey;
  });
  useEffect(() => {
    const h = (e: KeyboardEvent) => onKey.current(e);
    window.addEventListener("keydown", h);
    return () => window.removeEventListener("keydown", h);
  }, []);

  return (
    <div className="flex flex-col gap-4" data-testid="review-item">
      <div className="flex flex-wrap items-baseline gap-3">
        <h1 className="text-xl font-semibold">Review · {item.project.name}</h1>
        <span className="rounded bg-slate-200 px-2 py-0.5 text-sm" data-testid="review-status">
          {item.status}
        </span>
        {item.agreement !== null && (
          <span className="text-sm text-slate-600">agreement {Math.round(item.agreement * 100)}%</span>
        )}
        {item.isGold && (
          <span className="text-sm text-amber-800">check item; known answer: {item.goldAnswer}</span>
        )}
      </div>
      <PromptView prompt={item.prompt} />
      <div className={`grid gap-4 ${item.completions.length === 2 ? "md:grid-cols-2" : "md:grid-cols-3"}`}>
        {item.completions.map((c) => (
          <CompletionCard key={c.id} label={c.label} text={c.text} highlighted={choice === c.label} />
        ))}
      </div>
      <section aria-labelledby="votes-title" className="rounded-lg border border-slate-200 bg-white p-4">
        <h2 id="votes-title" className="mb-2 font-semibold">
          Votes ({item.judgments.length})
        </h2>
        <ul className="flex flex-col gap-2 text-sm" data-testid="review-votes">
          {item.judgments.map((j) => (
            <li
              key={j.id}
              className={`rounded border border-slate-200 p-2 ${j.superseded ? "opacity-50" : ""}`}
              data-testid="review-vote"
            >
              <div className="flex flex-wrap gap-3">
                <strong>{j.by}</strong>
                <span className="text-slate-600">{j.source}</span>
                <span>{j.verdict}</span>
                {j.shownFirst && <span className="text-slate-500">saw {j.shownFirst} first</span>}
                {j.timeSpentMs !== null && (
                  <span className="text-slate-500">{Math.round(j.timeSpentMs / 1000)} s</span>
                )}
                {j.goldCorrect !== null && (
                  <span className={j.goldCorrect ? "text-green-700" : "text-red-700"}>
                    {j.goldCorrect ? "check passed" : "check failed"}
                  </span>
                )}
                {j.superseded && <span>superseded</span>}
              </div>
              {j.rationale && (
                <p className="mt-1 whitespace-pre-wrap text-slate-800" data-testid="review-rationale-text">
                  {j.rationale}
                </p>
              )}
              {j.flag && (
                <p className="mt-1 text-red-800">
                  flag: {j.flag} {j.flagReason}
                </p>
              )}
            </li>
          ))}
        </ul>
        {item.flags.length > 0 && (
          <ul className="mt-3 text-sm text-red-800" data-testid="review-flags">
            {item.flags.map((f, i) => (
              <li key={i}>
                Flagged by {f.by} as <strong>{f.flag}</strong>: {f.reason}
              </li>
            ))}
          </ul>
        )}
      </section>
      {done ? (
        <p
          role="status"
          className="rounded border border-green-300 bg-green-50 p-3 text-green-900"
          data-testid="review-done"
        >
          {done}{" "}
          <Link href="/review" className="underline">
            Back to the queue
          </Link>
        </p>
      ) : (
        <section
          aria-label="Your ruling"
          className="flex flex-col gap-3 rounded-lg border border-slate-300 bg-white p-4"
        >
          {pairwise ? (
            <div role="group" aria-label="Ruling" className="flex flex-wrap gap-2">
              {(["A", "B", "tie", "both_bad"] as const)
                .filter(
                  (c) =>
                    (c !== "tie" || schema.kind !== "pairwise" || schema.allowTie) &&
                    (c !== "both_bad" || schema.kind !== "pairwise" || schema.allowBothBad),
                )
                .map((c) => (
                  <button
                    key={c}
                    type="button"
                    aria-pressed={choice === c}
                    onClick={() => setChoice(c)}
                    className={`rounded border px-3 py-1.5 text-sm ${choice === c ? "border-blue-700 bg-blue-700 text-white" : "border-slate-300"}`}
                    data-testid={`rule-${c}`}
                  >
                    {c === "A"
                      ? "A is better (A)"
                      : c === "B"
                        ? "B is better (B)"
                        : c === "tie"
                          ? "Tie (T)"
                          : "Both bad (X)"}
                  </button>
                ))}
              {(choice === "A" || choice === "B") &&
                ([1, 2] as const).map((s) => (
                  <button
                    key={s}
                    type="button"
                    aria-pressed={strength === s}
                    onClick={() => setStrength(s)}
                    className={`rounded border px-2 py-1.5 text-sm ${strength === s ? "border-slate-900 bg-slate-900 text-white" : "border-slate-300"}`}
                  >
                    {s === 1 ? "Slightly (1)" : "Much (2)"}
                  </button>
                ))}
            </div>
          ) : (
            <label className="flex flex-col gap-1 text-sm">
              Ranking, best first (letters; = joins a tie, e.g. A&gt;B=C)
              <input
                value={order}
                onChange={(e) => setOrder(e.target.value)}
                className="rounded border border-slate-300 px-2 py-1 font-mono"
                data-testid="rule-ranking"
              />
            </label>
          )}
          <label className="flex flex-col gap-1 text-sm">
            Note for the record (optional; R to type)
            <textarea
              id="review-rationale"
              value={rationale}
              onChange={(e) => setRationale(e.target.value)}
              rows={2}
              className="rounded border border-slate-300 p-2"
            />
          </label>
          {message && (
            <p role="alert" className="text-sm text-red-700">
              {message}
            </p>
          )}
          <div className="flex gap-2">
            <button
              type="button"
              onClick={() => void rule()}
              disabled={adjudicate.isPending}
              className="rounded bg-slate-900 px-4 py-1.5 text-white disabled:opacity-50"
              data-testid="rule-submit"
            >
              Record ruling (Enter)
            </button>
            {item.status === "flagged" && (
              <button
                type="button"
                onClick={async () => {
                  try {
                    await reopen.mutateAsync({ comparisonId: item.id });
                    setDone("The flag was lifted; the comparison is back in the queue.");
                    router.refresh();
                  } catch (e) {
                    setMessage(errorMessage(e));
                  }
                }}
                className="rounded border border-slate-300 px-3 py-1.5"
                data-testid="reopen"
              >
                Flag was wrong: back to the queue
              </button>
            )}
          </div>
        </section>
      )}
    </div>
  );
}
