"use client";
// The state of one judging session and what can be done with it: lease → judge → submit → next.
// The draft of each item lives in localStorage until it is recorded, so a reload, a network
// error or an expired lease never loses what was typed; the idempotency key in the draft makes
// every retry of a submit land on the same judgment. The view (annotate-session.tsx) and the
// keyboard (use-annotate-keys.ts) only call what this returns.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useTRPC, type RouterInputs, type RouterOutputs } from "@/components/trpc";
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
import { choicesFor, type PairwiseSchema } from "./pairwise-controls";
import type { RankingSchema } from "./ranking-controls";
import { initialRanking, toGroups, type RankItem } from "./ranking-model";
import { splitReasoning } from "./reasoning";
import { describeAnswer, describeVerdict } from "./verdict-text";
import type { FlagKind, SkipReason } from "@/server/enums";

export type SessionProject = RouterOutputs["annotation"]["project"] & {
  labelSchema: PairwiseSchema | RankingSchema;
};
export type Assignment = Extract<RouterOutputs["annotation"]["next"], { kind: "assignment" }>["assignment"];
type SubmitInput = RouterInputs["annotation"]["submit"];

export type Phase = "loading" | "item" | "empty" | "revealed" | "expired" | "recorded_elsewhere" | "error";
export type Dialog = null | "help" | "skip" | "flag";

/** What another tab (or window) recorded for this lease, when it differs from this tab's answer. */
export interface RecordedElsewhere {
  recorded: string;
  mine: string;
}

function useVisibleTime() {
  // Time on task: only while the tab is visible.
  const visibleMs = useRef(0);
  const visibleSince = useRef<number | null>(null);
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
  return {
    reset: () => {
      visibleMs.current = 0;
      visibleSince.current = document.visibilityState === "visible" ? performance.now() : null;
    },
    elapsed: () =>
      visibleMs.current + (visibleSince.current === null ? 0 : performance.now() - visibleSince.current),
  };
}

export function useAnnotateSession(project: SessionProject) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const schema = project.labelSchema;

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
  const [elsewhere, setElsewhere] = useState<RecordedElsewhere | null>(null);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [dialogError, setDialogError] = useState<string | null>(null);
  const [selected, setSelected] = useState(0);
  const [showInstructions, setShowInstructions] = useState(false);
  const [busy, setBusy] = useState(false);
  const [emptyReason, setEmptyReason] = useState<string>("no_items");
  const timer = useVisibleTime();

  const setDraft = useCallback(
    (d: Draft) => {
      setDraftState(d);
      if (assignment) saveDraft(assignment.assignmentId, d);
    },
    [assignment],
  );
  /** A change to the ranking is a decision: only a decided ranking can be submitted. */
  const setRanking = (ranking: RankItem[]) => setDraft({ ...draft, ranking, rankingDecided: true });

  const show = useCallback(
    (a: Assignment) => {
      setAssignment(a);
      const saved = loadDraft(a.assignmentId);
      const d = saved ?? emptyDraft();
      if (schema.kind === "ranking" && !d.ranking) d.ranking = initialRanking(a.completions.map((c) => c.id));
      setDraftState(d);
      setRestored(draftHasContent(saved));
      setRevealed(null);
      setElsewhere(null);
      setSelected(0);
      setMessage(null);
      setPhase("item");
      timer.reset();
      window.scrollTo({ top: 0 });
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps -- timer's functions read refs only
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
    // eslint-disable-next-line react-hooks/exhaustive-deps -- mutateAsync is stable
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
    // eslint-disable-next-line react-hooks/exhaustive-deps -- mutate is stable
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
    } else {
      if (!draft.rankingDecided)
        return "Rank first: move the completions into your order (Shift+↑/↓, the arrows or drag), or press O to keep the order shown.";
      if (toGroups(draft.ranking ?? []).flat().length < 2) return "Rank at least two completions.";
    }
    if (schema.rationale === "required" && !draft.rationale.trim())
      return "This project asks for a rationale: press R and say briefly why.";
    return null;
  };

  const answerOf = (): SubmitInput["answer"] =>
    schema.kind === "pairwise"
      ? {
          kind: "pairwise",
          choice: draft.choice!,
          strength: draft.choice === "A" || draft.choice === "B" ? (draft.strength ?? 1) : undefined,
        }
      : { kind: "ranking", ranking: toGroups(draft.ranking ?? []) };

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
    const answer = answerOf();
    const input: SubmitInput = {
      assignmentId: assignment.assignmentId,
      idempotencyKey: draft.key,
      answer,
      reasoningAnswer:
        schema.kind === "pairwise" && schema.judgeReasoningSeparately && hasReasoning && draft.reasoningChoice
          ? {
              kind: "pairwise",
              choice: draft.reasoningChoice,
              strength:
                draft.reasoningChoice === "A" || draft.reasoningChoice === "B"
                  ? (draft.reasoningStrength ?? 1)
                  : undefined,
            }
          : undefined,
      rationale: schema.rationale === "off" ? undefined : draft.rationale.trim() || undefined,
      ratings: Object.keys(draft.ratings).length ? draft.ratings : undefined,
      timeSpentMs: Math.round(timer.elapsed()),
    };
    try {
      let result: RouterOutputs["annotation"]["submit"] | undefined;
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
      const strength = schema.kind === "pairwise" && schema.strength;
      const mine = describeAnswer(answer, assignment.completions, strength);
      const recorded = result.recorded
        ? describeVerdict(result.recorded, assignment.completions, strength)
        : null;
      if (result.duplicate && recorded !== null && recorded !== mine) {
        // Another tab or window holding this lease recorded first; its vote stands.
        setElsewhere({ recorded, mine });
        setPhase("recorded_elsewhere");
      } else if (result.revealed) {
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

  const openDialog = (d: Exclude<Dialog, null>) => {
    setDialogError(null);
    setDialog(d);
  };

  const skip = async (reason: SkipReason, text: string) => {
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

  const flag = async (kind: FlagKind, text: string) => {
    if (!assignment) return;
    setDialogError(null);
    try {
      await flagM.mutateAsync({ assignmentId: assignment.assignmentId, flag: kind, reason: text });
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

  return {
    project,
    schema,
    phase,
    assignment,
    draft,
    restored,
    revealed,
    elsewhere,
    dialog,
    message,
    dialogError,
    selected,
    showInstructions,
    busy,
    emptyReason,
    hasReasoning,
    skipPending: skipM.isPending,
    flagPending: flagM.isPending,
    setDraft,
    setRanking,
    setSelected,
    setDialog,
    openDialog,
    toggleInstructions: () => setShowInstructions((v) => !v),
    loadNext,
    submit,
    resume,
    moveOn,
    skip,
    flag,
    choose,
  };
}

export type AnnotateSessionState = ReturnType<typeof useAnnotateSession>;
