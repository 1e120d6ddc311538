"use client";
// A/B choice with strength, the reasoning judged on its own when the project asks, per-axis
// ratings and the rationale. Every control is a labelled native element; keys are in help.
import type { RouterOutputs } from "@/components/trpc";
import type { Choice, Draft } from "./draft";

export type PairwiseSchema = Extract<
  RouterOutputs["annotation"]["project"]["labelSchema"],
  { kind: "pairwise" }
>;

const CHOICES: Array<{ value: Choice; label: string; key: string }> = [
  { value: "A", label: "A is better", key: "a" },
  { value: "B", label: "B is better", key: "b" },
  { value: "tie", label: "Tie", key: "t" },
  { value: "both_bad", label: "Both bad", key: "x" },
];

export function choicesFor(schema: { allowTie: boolean; allowBothBad: boolean }) {
  return CHOICES.filter(
    (c) => (c.value !== "tie" || schema.allowTie) && (c.value !== "both_bad" || schema.allowBothBad),
  );
}

function ChoiceRow({
  name,
  schema,
  choice,
  strength,
  onChoice,
  onStrength,
  keyPrefix,
  testPrefix,
}: {
  name: string;
  schema: PairwiseSchema;
  choice: Choice | undefined;
  strength: 1 | 2 | undefined;
  onChoice: (c: Choice) => void;
  onStrength: (s: 1 | 2) => void;
  keyPrefix: string;
  testPrefix: string;
}) {
  const decisive = choice === "A" || choice === "B";
  return (
    <div role="group" aria-label={name} className="flex flex-wrap items-center gap-2">
      <span className="w-full text-sm font-medium sm:w-auto">{name}</span>
      {choicesFor(schema).map((c) => (
        <button
          key={c.value}
          type="button"
          aria-pressed={choice === c.value}
          aria-keyshortcuts={keyPrefix + c.key}
          onClick={() => onChoice(c.value)}
          className={`rounded border px-3 py-1.5 text-sm ${choice === c.value ? "border-blue-700 bg-blue-700 text-white" : "border-slate-300 bg-white hover:bg-slate-100"}`}
          data-testid={`${testPrefix}choice-${c.value}`}
        >
          {c.label}{" "}
          <kbd className="key-hint ml-1 font-mono text-xs opacity-70">
            {(keyPrefix ? "⇧" : "") + c.key.toUpperCase()}
          </kbd>
        </button>
      ))}
      {schema.strength && (
        <span
          role="group"
          aria-label={`${name}: how much better`}
          className={`ml-2 flex gap-1 ${decisive ? "" : "opacity-50"}`}
        >
          {([1, 2] as const).map((s) => (
            <button
              key={s}
              type="button"
              disabled={!decisive}
              aria-pressed={decisive && (strength ?? 1) === s}
              onClick={() => onStrength(s)}
              className={`rounded border px-2 py-1.5 text-sm ${decisive && (strength ?? 1) === s ? "border-slate-900 bg-slate-900 text-white" : "border-slate-300 bg-white"}`}
              data-testid={`${testPrefix}strength-${s}`}
            >
              {s === 1 ? "Slightly" : "Much"}{" "}
              <kbd className="key-hint ml-1 font-mono text-xs opacity-70">{keyPrefix ? "" : s}</kbd>
            </button>
          ))}
        </span>
      )}
    </div>
  );
}

export function PairwiseControls({
  schema,
  draft,
  onChange,
  completions,
  hasReasoning,
}: {
  schema: PairwiseSchema;
  draft: Draft;
  onChange: (d: Draft) => void;
  completions: Array<{ id: string; label: string }>;
  hasReasoning: boolean;
}) {
  return (
    <div className="flex flex-col gap-3">
      {schema.judgeReasoningSeparately && hasReasoning && (
        <ChoiceRow
          name="Which reasoning is better?"
          schema={schema}
          choice={draft.reasoningChoice}
          strength={draft.reasoningStrength}
          onChoice={(c) => onChange({ ...draft, reasoningChoice: c })}
          onStrength={(s) => onChange({ ...draft, reasoningStrength: s })}
          keyPrefix="Shift+"
          testPrefix="reasoning-"
        />
      )}
      <ChoiceRow
        name={
          schema.judgeReasoningSeparately && hasReasoning
            ? "Which final answer is better?"
            : "Which completion is better?"
        }
        schema={schema}
        choice={draft.choice}
        strength={draft.strength}
        onChoice={(c) => onChange({ ...draft, choice: c })}
        onStrength={(s) => onChange({ ...draft, strength: s })}
        keyPrefix=""
        testPrefix=""
      />
      <AxisRatings axes={schema.axes} completions={completions} draft={draft} onChange={onChange} />
      <Rationale mode={schema.rationale} draft={draft} onChange={onChange} />
    </div>
  );
}

export function AxisRatings({
  axes,
  completions,
  draft,
  onChange,
}: {
  axes: Array<{ key: string; label: string; min: number; max: number }>;
  completions: Array<{ id: string; label: string }>;
  draft: Draft;
  onChange: (d: Draft) => void;
}) {
  if (!axes.length) return null;
  return (
    <fieldset className="flex flex-col gap-1 text-sm" data-testid="ratings">
      <legend className="font-medium">Ratings</legend>
      {axes.map((axis) => (
        <div key={axis.key} className="flex flex-wrap items-center gap-3">
          <span className="w-32">{axis.label}</span>
          {completions.map((c) => (
            <label key={c.id} className="flex items-center gap-1">
              {c.label}
              <select
                aria-label={`${axis.label} of completion ${c.label}`}
                value={draft.ratings[axis.key]?.[c.id] ?? ""}
                onChange={(e) => {
                  const ratings = { ...draft.ratings, [axis.key]: { ...(draft.ratings[axis.key] ?? {}) } };
                  if (e.target.value === "") delete ratings[axis.key]![c.id];
                  else ratings[axis.key]![c.id] = Number(e.target.value);
                  if (Object.keys(ratings[axis.key]!).length === 0) delete ratings[axis.key];
                  onChange({ ...draft, ratings });
                }}
                className="rounded border border-slate-300 px-1 py-0.5"
                data-testid={`rating-${axis.key}-${c.label}`}
              >
                <option value="">–</option>
                {Array.from({ length: axis.max - axis.min + 1 }, (_, i) => axis.min + i).map((v) => (
                  <option key={v} value={v}>
                    {v}
                  </option>
                ))}
              </select>
            </label>
          ))}
        </div>
      ))}
    </fieldset>
  );
}

export function Rationale({
  mode,
  draft,
  onChange,
}: {
  mode: "off" | "optional" | "required";
  draft: Draft;
  onChange: (d: Draft) => void;
}) {
  if (mode === "off") return null;
  return (
    <label className="flex flex-col gap-1 text-sm">
      <span>
        Why? <span className="text-slate-500">({mode}</span>
        <span className="key-hint text-slate-500">; R to type, Esc to leave, Ctrl+Enter to submit</span>
        <span className="text-slate-500">)</span>
      </span>
      <textarea
        id="rationale"
        value={draft.rationale}
        onChange={(e) => onChange({ ...draft, rationale: e.target.value })}
        rows={2}
        className="rounded border border-slate-300 p-2"
        data-testid="rationale"
      />
    </label>
  );
}
