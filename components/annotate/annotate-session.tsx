"use client";
// One judging session: lease → judge → submit → next, entirely by keyboard if the annotator likes
// (`?` lists the keys). The draft of each item lives in localStorage until it is recorded, so a
// reload, a network error or an expired lease never loses what was typed; the idempotency key in
// the draft makes every retry of a submit land on the same judgment.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import Link from "next/link";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc";
import { Markdown } from "@/components/markdown/markdown";
import { CompletionCard, PromptView } from "./content";
import {
  dropDraft,
  draftHasContent,
  emptyDraft,
  loadDraft,
  saveDraft,
  type Choice,
  type Draft,
} from "./draft";
import { domainCode, errorMessage, isNetworkError } from "./errors";
import { HelpDialog, type KeyHelp } from "./help-dialog";
import { PairwiseControls, choicesFor, type PairwiseSchema } from "./pairwise-controls";
import { ProgressPanel } from "./progress-panel";
import { RankingControls, type RankingSchema } from "./ranking-controls";
import { ReasonDialog } from "./reason-dialog";
import { initialRanking, moveItem, toGroups, toggleTie, toggleUnranked } from "./ranking-model";
import { splitReasoning } from "./reasoning";
import { FLAG_KINDS, SKIP_REASONS, type FlagKind, type SkipReason } from "@/server/enums";

export interface SessionProject {
  id: string;
  slug: string;
  name: string;
  instructions: string;
  labelSchema: PairwiseSchema | RankingSchema;
  revealModelsAfterVote: boolean;
  leaseSeconds: number;
}

interface Assignment {
  assignmentId: string;
  comparisonId: string;
  prompt: { text: string | null; messages: Array<{ role: string; content: string }> | null };
  completions: Array<{ id: string; label: string; text: string }>;
  expiresAt: string;
}

type Phase = "loading" | "item" | "empty" | "revealed" | "expired" | "error";
type Dialog = null | "help" | "skip" | "flag";

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return (
    !!el &&
    (el.tagName === "TEXTAREA" || el.tagName === "INPUT" || el.tagName === "SELECT" || el.isContentEditable)
  );
}

export function AnnotateSession({ project }: { project: SessionProject }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const schema = project.labelSchema;
  const tzOffsetMinutes = useMemo(() => new Date().getTimezoneOffset(), []);
  const progress = useQuery(
    trpc.annotation.progress.queryOptions({ projectId: project.id, tzOffsetMinutes }),
  );

  const nextM = useMutation(trpc.annotation.next.mutationOptions());
  const submitM = useMutation(trpc.annotation.submit.mutationOptions());
  const skipM = useMutation(trpc.annotation.skip.mutationOptions());
  const flagM = useMutation(trpc.annotation.flag.mutationOptions());
  const resumeM = useMutation(trpc.annotation.resume.mutationOptions());
  const heartbeatM = useMutation(trpc.annotation.heartbeat.mutationOptions());

  const [phase, setPhase] = useState<Phase>("loading");
  const [assignment, setAssignment] = useState<Assignment | null>(null);
  const [draft, setDraftState] = useState<Draft>(emptyDraft);
  const [restored, setRestored] = useState(false);
  const [revealed, setRevealed] = useState<Array<{ label: string; modelName: string }> | null>(null);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [dialogError, setDialogError] = useState<string | null>(null);
  const [selected, setSelected] = useState(0);
  const [showInstructions, setShowInstructions] = useState(false);
  const [busy, setBusy] = useState(false);
  const [emptyReason, setEmptyReason] = useState<string>("no_items");

  // Time on task: only while the tab is visible.
  const visibleMs = useRef(0);
  const visibleSince = useRef<number | null>(null);
  const resetTimer = () => {
    visibleMs.current = 0;
    visibleSince.current = document.visibilityState === "visible" ? performance.now() : null;
  };
  const elapsed = () =>
    visibleMs.current + (visibleSince.current === null ? 0 : performance.now() - visibleSince.current);
  useEffect(() => {
    const onVis = () => {
      if (document.visibilityState === "visible") visibleSince.current ??= performance.now();
      else if (visibleSince.current !== null) {
        visibleMs.current += performance.now() - visibleSince.current;
        visibleSince.current = null;
      }
    };
    document.addEventListener("visibilitychange", onVis);
    return () => document.removeEventListener("visibilitychange", onVis);
  }, []);

  const setDraft = useCallback(
    (d: Draft) => {
      setDraftState(d);
      if (assignment) saveDraft(assignment.assignmentId, d);
    },
    [assignment],
  );

  const show = useCallback(
    (a: Assignment) => {
      setAssignment(a);
      const saved = loadDraft(a.assignmentId);
      const d = saved ?? emptyDraft();
      if (schema.kind === "ranking" && !d.ranking) d.ranking = initialRanking(a.completions.map((c) => c.id));
      setDraftState(d);
      setRestored(draftHasContent(saved));
      setRevealed(null);
      setSelected(0);
      setMessage(null);
      setPhase("item");
      resetTimer();
      window.scrollTo({ top: 0 });
    },
    [schema.kind],
  );

  const loadNext = useCallback(async () => {
    setPhase("loading");
    setMessage(null);
    try {
      const r = await nextM.mutateAsync({ projectId: project.id });
      if (r.kind === "assignment") show(r.assignment);
      else {
        setAssignment(null);
        setEmptyReason(r.reason);
        setPhase("empty");
      }
    } catch (e) {
      setMessage(errorMessage(e));
      setPhase("error");
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [project.id, show]);

  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    void loadNext();
  }, [loadNext]);

  // Heartbeat: keeps the lease while the item is open; tells plainly when it is gone.
  useEffect(() => {
    if (phase !== "item" || !assignment) return;
    const every = Math.max(10_000, Math.min(60_000, (project.leaseSeconds * 1000) / 3));
    const id = window.setInterval(() => {
      heartbeatM.mutate(
        { assignmentId: assignment.assignmentId },
        { onError: (e) => domainCode(e) === "gone" && setPhase("expired") },
      );
    }, every);
    return () => window.clearInterval(id);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [phase, assignment, project.leaseSeconds]);

  const hasReasoning = useMemo(
    () => !!assignment?.completions.some((c) => splitReasoning(c.text).reasoning !== null),
    [assignment],
  );

  /** What is missing before this draft can be submitted, or null. */
  const missing = (): string | null => {
    if (schema.kind === "pairwise") {
      if (schema.judgeReasoningSeparately && hasReasoning && !draft.reasoningChoice)
        return "Judge the reasoning first (Shift+A, Shift+B…).";
      if (!draft.choice)
        return (
          "Choose first: A, B" +
          (schema.allowTie ? ", T (tie)" : "") +
          (schema.allowBothBad ? ", X (both bad)" : "") +
          "."
        );
    } else if (toGroups(draft.ranking ?? []).flat().length < 2) return "Rank at least two completions.";
    if (schema.rationale === "required" && !draft.rationale.trim())
      return "This project asks for a rationale: press R and say briefly why.";
    return null;
  };

  // A ref, not state: a second Enter in the same tick must see the first one in flight.
  const inFlight = useRef(false);
  const submit = async () => {
    if (!assignment || busy || inFlight.current || phase !== "item") return;
    const why = missing();
    if (why) {
      setMessage(why);
      return;
    }
    inFlight.current = true;
    setBusy(true);
    setMessage(null);
    const answer =
      schema.kind === "pairwise"
        ? {
            kind: "pairwise" as const,
            choice: draft.choice!,
            strength: draft.choice === "A" || draft.choice === "B" ? (draft.strength ?? 1) : undefined,
          }
        : { kind: "ranking" as const, ranking: toGroups(draft.ranking ?? []) };
    const input = {
      assignmentId: assignment.assignmentId,
      idempotencyKey: draft.key,
      answer,
      reasoningAnswer:
        schema.kind === "pairwise" && schema.judgeReasoningSeparately && hasReasoning && draft.reasoningChoice
          ? {
              kind: "pairwise" as const,
              choice: draft.reasoningChoice,
              strength:
                draft.reasoningChoice === "A" || draft.reasoningChoice === "B"
                  ? (draft.reasoningStrength ?? 1)
                  : undefined,
            }
          : undefined,
      rationale: schema.rationale === "off" ? undefined : draft.rationale.trim() || undefined,
      ratings: Object.keys(draft.ratings).length ? draft.ratings : undefined,
      timeSpentMs: Math.round(elapsed()),
    };
    try {
      let result: Awaited<ReturnType<typeof submitM.mutateAsync>> | undefined;
      for (let attempt = 0; ; attempt++) {
        try {
          result = await submitM.mutateAsync(input);
          break;
        } catch (e) {
          // Same key on every retry: the server records this judgment once.
          if (isNetworkError(e) && attempt < 3) {
            await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
            continue;
          }
          throw e;
        }
      }
      dropDraft(assignment.assignmentId);
      void queryClient.invalidateQueries({ queryKey: trpc.annotation.progress.queryKey() });
      if (result.revealed) {
        setRevealed(result.revealed.map((r) => ({ label: r.label, modelName: r.modelName })));
        setPhase("revealed");
      } else {
        await loadNext();
      }
    } catch (e) {
      if (domainCode(e) === "gone") setPhase("expired");
      else setMessage(errorMessage(e));
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  const resume = async () => {
    if (!assignment) return;
    setBusy(true);
    try {
      const r = await resumeM.mutateAsync({ assignmentId: assignment.assignmentId });
      if (r.kind === "assignment") show(r.assignment);
    } catch (e) {
      setMessage(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const moveOn = async () => {
    if (assignment && phase === "expired") dropDraft(assignment.assignmentId);
    await loadNext();
  };

  const doSkip = async (reason: SkipReason, text: string) => {
    if (!assignment) return;
    setDialogError(null);
    try {
      await skipM.mutateAsync({
        assignmentId: assignment.assignmentId,
        reason,
        ...(text ? { note: text } : {}),
      });
      dropDraft(assignment.assignmentId);
      setDialog(null);
      await loadNext();
    } catch (e) {
      if (domainCode(e) === "gone" || domainCode(e) === "conflict") {
        setDialog(null);
        await loadNext();
      } else setDialogError(errorMessage(e));
    }
  };

  const doFlag = async (flag: FlagKind, text: string) => {
    if (!assignment) return;
    setDialogError(null);
    try {
      await flagM.mutateAsync({
        assignmentId: assignment.assignmentId,
        flag,
        reason: text,
      });
      dropDraft(assignment.assignmentId);
      setDialog(null);
      await loadNext();
    } catch (e) {
      setDialogError(errorMessage(e));
    }
  };

  const choose = (c: Choice, reasoning: boolean) => {
    if (schema.kind !== "pairwise") return;
    if (!choicesFor(schema).some((x) => x.value === c)) return;
    if (reasoning) {
      if (schema.judgeReasoningSeparately && hasReasoning) setDraft({ ...draft, reasoningChoice: c });
    } else setDraft({ ...draft, choice: c });
  };

  // One keyboard handler, reading the latest state through a ref.
  const onKey = useRef<(e: KeyboardEvent) => void>(() => {});
  const handleKey = (e: KeyboardEvent) => {
    if (dialog) {
      if (e.key === "Escape") setDialog(null);
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && phase === "item") {
        e.preventDefault();
        void submit();
      }
      return;
    }
    if (isTyping(e.target)) {
      if (e.key === "Escape") (e.target as HTMLElement).blur();
      return;
    }
    const k = e.key;
    if (k === "?") {
      e.preventDefault();
      setDialog("help");
      return;
    }
    if (k === "i" || k === "I") {
      setShowInstructions((v) => !v);
      return;
    }
    if (phase === "revealed" || phase === "empty" || phase === "error") {
      if (k === "n" || k === "N" || k === "Enter") {
        e.preventDefault();
        void loadNext();
      }
      return;
    }
    if (phase === "expired") {
      if (k === "Enter") {
        e.preventDefault();
        void resume();
      } else if (k === "n" || k === "N") {
        e.preventDefault();
        void moveOn();
      }
      return;
    }
    if (phase !== "item") return;
    const lower = k.toLowerCase();
    if (k === "Enter") {
      // Enter on a focused button activates the button, not a submit.
      if ((e.target as HTMLElement | null)?.tagName === "BUTTON") return;
      e.preventDefault();
      void submit();
    } else if (lower === "s") {
      e.preventDefault();
      setDialogError(null);
      setDialog("skip");
    } else if (lower === "f") {
      e.preventDefault();
      setDialogError(null);
      setDialog("flag");
    } else if (lower === "r" && schema.rationale !== "off") {
      e.preventDefault();
      document.getElementById("rationale")?.focus();
    } else if (schema.kind === "pairwise") {
      const map: Record<string, Choice> = { a: "A", b: "B", t: "tie", x: "both_bad" };
      if (map[lower]) {
        e.preventDefault();
        choose(map[lower]!, e.shiftKey);
      } else if (k === "1" || k === "2") {
        e.preventDefault();
        if (draft.choice === "A" || draft.choice === "B") setDraft({ ...draft, strength: k === "1" ? 1 : 2 });
      } else if (k === "!" || k === "@") {
        if (draft.reasoningChoice === "A" || draft.reasoningChoice === "B")
          setDraft({ ...draft, reasoningStrength: k === "!" ? 1 : 2 });
      }
    } else {
      const items = draft.ranking ?? [];
      if (k === "ArrowUp" || k === "ArrowDown" || lower === "k" || lower === "j") {
        e.preventDefault();
        const delta = k === "ArrowUp" || lower === "k" ? -1 : 1;
        if (e.shiftKey) {
          const r = moveItem(items, selected, delta);
          setDraft({ ...draft, ranking: r.items });
          setSelected(r.index);
        } else setSelected(Math.min(items.length - 1, Math.max(0, selected + delta)));
      } else if (k === "=" && schema.allowTies) {
        e.preventDefault();
        setDraft({ ...draft, ranking: toggleTie(items, selected) });
      } else if (lower === "u" && schema.allowPartial) {
        e.preventDefault();
        const r = toggleUnranked(items, selected);
        setDraft({ ...draft, ranking: r.items });
        setSelected(r.index);
      } else if (/^[1-9]$/.test(k)) {
        // jump the selection to the completion with that letter's position (1 = A)
        const target = assignment?.completions[Number(k) - 1];
        const idx = target ? items.findIndex((x) => x.id === target.id) : -1;
        if (idx >= 0) setSelected(idx);
      }
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

  const keys: KeyHelp[] = [
    ...(schema.kind === "pairwise"
      ? [
          { keys: "A / B", action: "A is better / B is better" },
          ...(schema.allowTie ? [{ keys: "T", action: "Tie" }] : []),
          ...(schema.allowBothBad ? [{ keys: "X", action: "Both bad" }] : []),
          ...(schema.strength ? [{ keys: "1 / 2", action: "Slightly / much better" }] : []),
          ...(schema.judgeReasoningSeparately
            ? [
                {
                  keys: "Shift+A / B / T / X",
                  action: "Judge the reasoning (Shift+1 / Shift+2 for strength)",
                },
              ]
            : []),
        ]
      : [
          { keys: "↑ / ↓ (K / J)", action: "Pick a completion in the ranking" },
          { keys: "Shift+↑ / Shift+↓", action: "Move it up / down" },
          { keys: "1…9", action: "Pick completion A…I" },
          ...(schema.allowTies ? [{ keys: "=", action: "Tie with the one above (again to untie)" }] : []),
          ...(schema.allowPartial ? [{ keys: "U", action: "Leave unranked (again to rank)" }] : []),
        ]),
    ...(schema.rationale !== "off"
      ? [{ keys: "R", action: "Type a rationale (Esc leaves the text box)" }]
      : []),
    { keys: "Enter / Ctrl+Enter", action: "Submit" },
    { keys: "S", action: "Skip, with a reason" },
    { keys: "F", action: "Flag: unsafe, private data, broken" },
    { keys: "N", action: "Next item (after a reveal, or when the lease ran out)" },
    { keys: "I", action: "Show or hide the instructions" },
    { keys: "Tab", action: "Move between controls" },
    { keys: "?", action: "This help" },
    { keys: "Esc", action: "Close a dialog / leave a text box" },
  ];

  return (
    <div
      className="flex flex-col gap-4"
      data-testid="annotate-session"
      data-phase={phase}
      data-assignment-id={assignment?.assignmentId ?? ""}
    >
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-semibold">{project.name}</h1>
        <button
          type="button"
          onClick={() => setShowInstructions((v) => !v)}
          aria-expanded={showInstructions}
          className="text-sm text-blue-700 underline"
          data-testid="toggle-instructions"
        >
          Instructions (I)
        </button>
        <button
          type="button"
          onClick={() => setDialog("help")}
          className="text-sm text-blue-700 underline"
          data-testid="show-help"
        >
          Keys (?)
        </button>
        <div className="ml-auto">
          <ProgressPanel progress={progress.data} />
        </div>
      </div>
      {showInstructions && (
        <section
          aria-label="Instructions"
          className="rounded-lg border border-slate-200 bg-white p-4"
          data-testid="instructions"
        >
          {project.instructions ? (
            <Markdown>{project.instructions}</Markdown>
          ) : (
            <p className="text-sm text-slate-600">This project has no written instructions.</p>
          )}
        </section>
      )}

      {phase === "loading" && <p className="text-slate-600">Loading the next comparison…</p>}
      {phase === "error" && (
        <div
          role="alert"
          className="rounded border border-red-300 bg-red-50 p-3 text-red-800"
          data-testid="session-error"
        >
          {message}{" "}
          <button type="button" className="ml-2 underline" onClick={() => void loadNext()}>
            Try again (N)
          </button>
        </div>
      )}
      {phase === "empty" && (
        <div
          className="rounded-lg border border-slate-200 bg-white p-6 text-center"
          data-testid="empty-state"
        >
          <p className="text-lg font-medium">
            {emptyReason === "all_done"
              ? "You have judged everything available to you here. Thank you!"
              : "Nothing to judge in this project right now."}
          </p>
          <p className="mt-1 text-sm text-slate-600">New items may arrive later.</p>
          <div className="mt-3 flex justify-center gap-3 text-sm">
            <button
              type="button"
              className="rounded border border-slate-300 px-3 py-1.5"
              onClick={() => void loadNext()}
              data-testid="check-again"
            >
              Check again (N)
            </button>
            <Link href="/annotate" className="rounded border border-slate-300 px-3 py-1.5">
              Other projects
            </Link>
          </div>
        </div>
      )}
      {phase === "expired" && (
        <div
          role="alert"
          className="rounded border border-amber-300 bg-amber-50 p-4 text-amber-900"
          data-testid="expired-banner"
        >
          <p className="font-medium">Your time on this comparison ran out, and it went back to the queue.</p>
          <p className="text-sm">
            What you entered is kept on this device.{draft.rationale.trim() ? " Your rationale:" : ""}
          </p>
          {draft.rationale.trim() && (
            <blockquote
              className="my-2 whitespace-pre-wrap border-l-4 border-amber-400 pl-2 text-sm"
              data-testid="expired-draft"
            >
              {draft.rationale}
            </blockquote>
          )}
          {message && <p className="text-sm text-red-800">{message}</p>}
          <div className="mt-2 flex gap-2 text-sm">
            <button
              type="button"
              disabled={busy}
              onClick={() => void resume()}
              className="rounded bg-amber-700 px-3 py-1.5 text-white"
              data-testid="resume"
            >
              Take it back and finish (Enter)
            </button>
            <button
              type="button"
              onClick={() => void moveOn()}
              className="rounded border border-amber-700 px-3 py-1.5"
              data-testid="move-on"
            >
              Next item (N)
            </button>
          </div>
        </div>
      )}

      {assignment && (phase === "item" || phase === "revealed" || phase === "expired") && (
        <div className="flex flex-col gap-4" data-testid="assignment">
          <PromptView prompt={assignment.prompt} />
          <div
            className={`grid gap-4 ${assignment.completions.length === 2 ? "md:grid-cols-2" : "md:grid-cols-2 xl:grid-cols-3"}`}
          >
            {assignment.completions.map((c, i) => (
              <CompletionCard
                key={c.id}
                label={c.label}
                text={c.text}
                highlighted={
                  schema.kind === "pairwise"
                    ? draft.choice === c.label
                    : (draft.ranking ?? [])[selected]?.id === c.id && i >= 0
                }
                modelName={revealed?.find((r) => r.label === c.label)?.modelName}
              />
            ))}
          </div>
          {phase === "item" && (
            <section
              aria-label="Your judgment"
              className="sticky bottom-0 flex flex-col gap-3 rounded-lg border border-slate-300 bg-white p-4 shadow-lg"
              data-testid="judgment-panel"
            >
              {restored && (
                <p className="text-sm text-blue-800" data-testid="draft-restored">
                  Restored what you had entered for this item.
                </p>
              )}
              {schema.kind === "pairwise" ? (
                <PairwiseControls
                  schema={schema}
                  draft={draft}
                  onChange={setDraft}
                  completions={assignment.completions}
                  hasReasoning={hasReasoning}
                />
              ) : (
                <RankingControls
                  schema={schema}
                  draft={draft}
                  onChange={setDraft}
                  completions={assignment.completions}
                  selected={selected}
                  onSelect={setSelected}
                />
              )}
              {message && (
                <p role="alert" className="text-sm text-red-700" data-testid="submit-message">
                  {message}
                </p>
              )}
              <div className="flex flex-wrap gap-2">
                <button
                  type="button"
                  onClick={() => void submit()}
                  disabled={busy}
                  className="rounded bg-slate-900 px-4 py-1.5 text-white disabled:opacity-50"
                  data-testid="submit"
                >
                  {busy ? "Submitting…" : "Submit (Enter)"}
                </button>
                <button
                  type="button"
                  onClick={() => {
                    setDialogError(null);
                    setDialog("skip");
                  }}
                  className="rounded border border-slate-300 px-3 py-1.5"
                  data-testid="skip"
                >
                  Skip (S)
                </button>
                <button
                  type="button"
                  onClick={() => {
                    setDialogError(null);
                    setDialog("flag");
                  }}
                  className="rounded border border-red-300 px-3 py-1.5 text-red-800"
                  data-testid="flag"
                >
                  Flag (F)
                </button>
              </div>
            </section>
          )}
          {phase === "revealed" && (
            <section
              aria-label="Models"
              className="rounded-lg border border-amber-200 bg-amber-50 p-4"
              data-testid="revealed-models"
            >
              <p className="text-sm">
                Recorded. The completions came from:{" "}
                {revealed?.map((r) => (
                  <span key={r.label} className="mr-3">
                    <strong>{r.label}</strong> {r.modelName}
                  </span>
                ))}
              </p>
              <button
                type="button"
                onClick={() => void loadNext()}
                className="mt-2 rounded bg-slate-900 px-3 py-1.5 text-sm text-white"
                data-testid="next"
              >
                Next (N)
              </button>
            </section>
          )}
        </div>
      )}

      {dialog === "help" && <HelpDialog items={keys} onClose={() => setDialog(null)} />}
      {dialog === "skip" && (
        <ReasonDialog
          title="Skip this comparison"
          testId="skip-dialog"
          options={SKIP_REASONS}
          textLabel="Anything to add? (optional)"
          textRequired={false}
          submitLabel="Skip"
          busy={skipM.isPending}
          error={dialogError}
          onSubmit={(v, t) => void doSkip(v, t)}
          onClose={() => setDialog(null)}
        />
      )}
      {dialog === "flag" && (
        <ReasonDialog
          title="Flag this comparison"
          testId="flag-dialog"
          options={FLAG_KINDS}
          textLabel="What is wrong? (required)"
          textRequired
          submitLabel="Flag"
          busy={flagM.isPending}
          error={dialogError}
          onSubmit={(v, t) => void doFlag(v, t)}
          onClose={() => setDialog(null)}
        />
      )}
    </div>
  );
}
