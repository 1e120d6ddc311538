"use client";
// One judging session, the view: the prompt, the completions, the judgment panel and the
// dialogs. The state and its actions live in use-annotate-session.ts, the keys in
// use-annotate-keys.ts (`?` lists them).
import Link from "next/link";
import { Markdown } from "@/components/markdown/markdown";
import { CompletionCard, PromptView } from "./content";
import { HelpDialog } from "./help-dialog";
import { PairwiseControls } from "./pairwise-controls";
import { ProgressPanel } from "./progress-panel";
import { RankingControls } from "./ranking-controls";
import { ReasonDialog } from "./reason-dialog";
import { useAnnotateKeys } from "./use-annotate-keys";
import { useAnnotateSession, type AnnotateSessionState, type SessionProject } from "./use-annotate-session";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc";
import { useMemo } from "react";
import { FLAG_KINDS, SKIP_REASONS } from "@/server/enums";

export type { SessionProject } from "./use-annotate-session";

/** A key named on a control; hidden on touch screens, where there is no keyboard to press it. */
export function KeyHint({ children }: { children: React.ReactNode }) {
  return <span className="key-hint">{children}</span>;
}

export function AnnotateSession({ project }: { project: SessionProject }) {
  const trpc = useTRPC();
  const tzOffsetMinutes = useMemo(() => new Date().getTimezoneOffset(), []);
  const progress = useQuery(
    trpc.annotation.progress.queryOptions({ projectId: project.id, tzOffsetMinutes }),
  );
  const s = useAnnotateSession(project);
  const keys = useAnnotateKeys(s);
  const { phase, assignment } = s;

  return (
    <div
      className="flex flex-col gap-4"
      data-testid="annotate-session"
      data-phase={phase}
      data-assignment-id={assignment?.assignmentId ?? ""}
    >
      <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
        <h1 className="text-xl font-semibold">{project.name}</h1>
        <button
          type="button"
          onClick={s.toggleInstructions}
          aria-expanded={s.showInstructions}
          className="text-sm text-blue-700 underline"
          data-testid="toggle-instructions"
        >
          Instructions <KeyHint>(I)</KeyHint>
        </button>
        <button
          type="button"
          onClick={() => s.setDialog("help")}
          className="key-hint text-sm text-blue-700 underline"
          data-testid="show-help"
        >
          Keys (?)
        </button>
        <div className="w-full sm:ml-auto sm:w-auto">
          <ProgressPanel progress={progress.data} />
        </div>
      </div>
      {s.showInstructions && (
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
          {s.message}{" "}
          <button type="button" className="ml-2 underline" onClick={() => void s.loadNext()}>
            Try again <KeyHint>(N)</KeyHint>
          </button>
        </div>
      )}
      {phase === "empty" && <EmptyState reason={s.emptyReason} onCheck={() => void s.loadNext()} />}
      {phase === "expired" && <ExpiredBanner s={s} />}
      {phase === "recorded_elsewhere" && s.elsewhere && (
        <div
          role="alert"
          className="rounded border border-amber-300 bg-amber-50 p-4 text-amber-900"
          data-testid="recorded-elsewhere"
        >
          <p className="font-medium">
            This comparison had already been judged in another tab or window: “{s.elsewhere.recorded}”.
          </p>
          <p className="text-sm">
            Your vote here (“{s.elsewhere.mine}”) was not recorded; the first one stands. To change it, ask a
            reviewer.
          </p>
          <button
            type="button"
            onClick={() => void s.loadNext()}
            className="mt-2 rounded bg-slate-900 px-3 py-1.5 text-sm text-white"
            data-testid="next"
          >
            Next <KeyHint>(N)</KeyHint>
          </button>
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
                  s.schema.kind === "pairwise"
                    ? s.draft.choice === c.label
                    : (s.draft.ranking ?? [])[s.selected]?.id === c.id && i >= 0
                }
                modelName={s.revealed?.find((r) => r.label === c.label)?.modelName}
              />
            ))}
          </div>
          {phase === "item" && <JudgmentPanel s={s} />}
          {phase === "revealed" && (
            <section
              aria-label="Models"
              className="rounded-lg border border-amber-200 bg-amber-50 p-4"
              data-testid="revealed-models"
            >
              <p className="text-sm">
                Recorded. The completions came from:{" "}
                {s.revealed?.map((r) => (
                  <span key={r.label} className="mr-3">
                    <strong>{r.label}</strong> {r.modelName}
                  </span>
                ))}
              </p>
              <button
                type="button"
                onClick={() => void s.loadNext()}
                className="mt-2 rounded bg-slate-900 px-3 py-1.5 text-sm text-white"
                data-testid="next"
              >
                Next <KeyHint>(N)</KeyHint>
              </button>
            </section>
          )}
        </div>
      )}

      {s.dialog === "help" && <HelpDialog items={keys} onClose={() => s.setDialog(null)} />}
      {s.dialog === "skip" && (
        <ReasonDialog
          title="Skip this comparison"
          testId="skip-dialog"
          options={SKIP_REASONS}
          textLabel="Anything to add? (optional)"
          textRequired={false}
          submitLabel="Skip"
          busy={s.skipPending}
          error={s.dialogError}
          onSubmit={(v, t) => void s.skip(v, t)}
          onClose={() => s.setDialog(null)}
        />
      )}
      {s.dialog === "flag" && (
        <ReasonDialog
          title="Flag this comparison"
          testId="flag-dialog"
          options={FLAG_KINDS}
          textLabel="What is wrong? (required)"
          textRequired
          submitLabel="Flag"
          busy={s.flagPending}
          error={s.dialogError}
          onSubmit={(v, t) => void s.flag(v, t)}
          onClose={() => s.setDialog(null)}
        />
      )}
    </div>
  );
}

function JudgmentPanel({ s }: { s: AnnotateSessionState }) {
  const { assignment, schema, draft } = s;
  if (!assignment) return null;
  return (
    // Sticky at the bottom only where the screen has room for it and the answers together.
    <section
      aria-label="Your judgment"
      className="flex flex-col gap-3 rounded-lg border border-slate-300 bg-white p-4 shadow-lg md:sticky md:bottom-0"
      data-testid="judgment-panel"
    >
      {s.restored && (
        <p className="text-sm text-blue-800" data-testid="draft-restored">
          Restored what you had entered for this item.
        </p>
      )}
      {schema.kind === "pairwise" ? (
        <PairwiseControls
          schema={schema}
          draft={draft}
          onChange={s.setDraft}
          completions={assignment.completions}
          hasReasoning={s.hasReasoning}
        />
      ) : (
        <RankingControls
          schema={schema}
          draft={draft}
          onChange={s.setDraft}
          onRank={s.setRanking}
          completions={assignment.completions}
          selected={s.selected}
          onSelect={s.setSelected}
        />
      )}
      {s.message && (
        <p role="alert" className="text-sm text-red-700" data-testid="submit-message">
          {s.message}
        </p>
      )}
      <div className="flex flex-wrap gap-2">
        <button
          type="button"
          onClick={() => void s.submit()}
          disabled={s.busy}
          className="rounded bg-slate-900 px-4 py-1.5 text-white disabled:opacity-50"
          data-testid="submit"
        >
          {s.busy ? (
            "Submitting…"
          ) : (
            <>
              Submit <KeyHint>(Enter)</KeyHint>
            </>
          )}
        </button>
        <button
          type="button"
          onClick={() => s.openDialog("skip")}
          className="rounded border border-slate-300 px-3 py-1.5"
          data-testid="skip"
        >
          Skip <KeyHint>(S)</KeyHint>
        </button>
        <button
          type="button"
          onClick={() => s.openDialog("flag")}
          className="rounded border border-red-300 px-3 py-1.5 text-red-800"
          data-testid="flag"
        >
          Flag <KeyHint>(F)</KeyHint>
        </button>
      </div>
    </section>
  );
}

function EmptyState({ reason, onCheck }: { reason: string; onCheck: () => void }) {
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-6 text-center" data-testid="empty-state">
      <p className="text-lg font-medium">
        {reason === "all_done"
          ? "You have judged everything available to you here. Thank you!"
          : "Nothing to judge in this project right now."}
      </p>
      <p className="mt-1 text-sm text-slate-600">New items may arrive later.</p>
      <div className="mt-3 flex justify-center gap-3 text-sm">
        <button
          type="button"
          className="rounded border border-slate-300 px-3 py-1.5"
          onClick={onCheck}
          data-testid="check-again"
        >
          Check again <KeyHint>(N)</KeyHint>
        </button>
        <Link href="/annotate" className="rounded border border-slate-300 px-3 py-1.5">
          Other projects
        </Link>
      </div>
    </div>
  );
}

function ExpiredBanner({ s }: { s: AnnotateSessionState }) {
  const rationale = s.draft.rationale.trim();
  return (
    <div
      role="alert"
      className="rounded border border-amber-300 bg-amber-50 p-4 text-amber-900"
      data-testid="expired-banner"
    >
      <p className="font-medium">Your time on this comparison ran out, and it went back to the queue.</p>
      <p className="text-sm">What you entered is kept on this device.{rationale ? " Your rationale:" : ""}</p>
      {rationale && (
        <blockquote
          className="my-2 border-l-4 border-amber-400 pl-2 text-sm whitespace-pre-wrap"
          data-testid="expired-draft"
        >
          {s.draft.rationale}
        </blockquote>
      )}
      {s.message && <p className="text-sm text-red-800">{s.message}</p>}
      <div className="mt-2 flex flex-wrap gap-2 text-sm">
        <button
          type="button"
          disabled={s.busy}
          onClick={() => void s.resume()}
          className="rounded bg-amber-700 px-3 py-1.5 text-white"
          data-testid="resume"
        >
          Take it back and finish <KeyHint>(Enter)</KeyHint>
        </button>
        <button
          type="button"
          onClick={() => void s.moveOn()}
          className="rounded border border-amber-700 px-3 py-1.5"
          data-testid="move-on"
        >
          Next item <KeyHint>(N)</KeyHint>
        </button>
      </div>
    </div>
  );
}
