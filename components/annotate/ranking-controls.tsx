"use client";
// K-way ranking: drag to order (native HTML5 drag and drop), or entirely by keyboard: ↑/↓ pick
// an item, Shift+↑/↓ move it, = ties it with the one above, U leaves it unranked.
import { useState } from "react";
import type { RouterOutputs } from "@/components/trpc";
import { Markdown } from "@/components/markdown/markdown";
import type { Draft } from "./draft";
import { moveItem, moveTo, places, toggleTie, toggleUnranked, type RankItem } from "./ranking-model";
import { AxisRatings, Rationale } from "./pairwise-controls";
import { splitReasoning } from "./reasoning";

export type RankingSchema = Extract<
  RouterOutputs["annotation"]["project"]["labelSchema"],
  { kind: "ranking" }
>;

export function RankingControls({
  schema,
  draft,
  onChange,
  onRank,
  completions,
  selected,
  onSelect,
}: {
  schema: RankingSchema;
  draft: Draft;
  onChange: (d: Draft) => void;
  /** A new order (a decision: only a decided ranking can be submitted). */
  onRank: (items: RankItem[]) => void;
  completions: Array<{ id: string; label: string; text: string }>;
  selected: number;
  onSelect: (i: number) => void;
}) {
  const items = draft.ranking ?? [];
  const byId = new Map(completions.map((c) => [c.id, c]));
  const shown = places(items);
  const [dragging, setDragging] = useState<string | null>(null);
  const set = onRank;
  const decided = !!draft.rankingDecided;
  return (
    <div className="flex flex-col gap-3">
      <div>
        <h3 className="text-sm font-medium" id="ranking-title">
          Your ranking, best first
        </h3>
        <p className="text-xs text-slate-600">
          Drag, or use the arrow buttons
          <span className="key-hint">
            ; or ↑/↓ to pick and Shift+↑/↓ to move.
            {schema.allowTies ? " = ties with the one above." : ""}
            {schema.allowPartial ? " U leaves one unranked." : ""}
          </span>
        </p>
        {!decided && (
          <p
            className="mt-1 flex flex-wrap items-center gap-2 text-xs text-amber-800"
            data-testid="ranking-undecided"
          >
            Not ranked yet: the list is in the order shown.
            <button
              type="button"
              onClick={() => set(items)}
              className="rounded border border-amber-700 px-2 py-0.5 text-amber-900"
              data-testid="ranking-keep"
            >
              Keep this order <span className="key-hint">(O)</span>
            </button>
          </p>
        )}
      </div>
      <ol aria-labelledby="ranking-title" className="flex flex-col gap-1" data-testid="ranking-list">
        {items.map((it, i) => {
          const c = byId.get(it.id);
          const label = c?.label ?? "?";
          const place = shown[i];
          return (
            <li
              key={it.id}
              draggable
              onDragStart={(e) => {
                setDragging(it.id);
                e.dataTransfer.effectAllowed = "move";
                e.dataTransfer.setData("text/plain", it.id);
              }}
              onDragOver={(e) => {
                e.preventDefault();
                e.dataTransfer.dropEffect = "move";
              }}
              onDrop={(e) => {
                e.preventDefault();
                const id = dragging ?? e.dataTransfer.getData("text/plain");
                if (id) set(moveTo(items, id, it.id));
                setDragging(null);
              }}
              onDragEnd={() => setDragging(null)}
              onClick={() => onSelect(i)}
              className={`flex items-center gap-2 rounded border bg-white px-2 py-1.5 text-sm ${i === selected ? "border-blue-700 ring-2 ring-blue-700" : "border-slate-300"} ${it.unranked ? "opacity-60" : ""} ${dragging === it.id ? "opacity-40" : ""}`}
              data-testid={`rank-item-${label}`}
              data-place={place ?? "unranked"}
              data-decided={decided ? "true" : "false"}
              aria-current={i === selected ? "true" : undefined}
            >
              <span className="w-16 shrink-0 font-mono text-xs text-slate-600">
                {place === null ? "unranked" : decided ? `#${place}${it.tied ? " (tie)" : ""}` : "–"}
              </span>
              <span className="inline-flex h-6 w-6 shrink-0 items-center justify-center rounded bg-slate-900 text-white">
                {label}
              </span>
              <RowPreview text={c?.text ?? ""} />
              <button
                type="button"
                aria-label={`Move ${label} up`}
                onClick={(e) => {
                  e.stopPropagation();
                  const r = moveItem(items, i, -1);
                  set(r.items);
                  onSelect(r.index);
                }}
                className="rounded border border-slate-300 px-1.5"
              >
                ↑
              </button>
              <button
                type="button"
                aria-label={`Move ${label} down`}
                onClick={(e) => {
                  e.stopPropagation();
                  const r = moveItem(items, i, 1);
                  set(r.items);
                  onSelect(r.index);
                }}
                className="rounded border border-slate-300 px-1.5"
              >
                ↓
              </button>
              {schema.allowTies && (
                <button
                  type="button"
                  aria-pressed={it.tied}
                  aria-label={`Tie ${label} with the one above`}
                  disabled={i === 0 || it.unranked}
                  onClick={(e) => {
                    e.stopPropagation();
                    set(toggleTie(items, i));
                  }}
                  className="rounded border border-slate-300 px-1.5 disabled:opacity-40"
                >
                  =
                </button>
              )}
              {schema.allowPartial && (
                <button
                  type="button"
                  aria-pressed={it.unranked}
                  aria-label={`Leave ${label} unranked`}
                  onClick={(e) => {
                    e.stopPropagation();
                    const r = toggleUnranked(items, i);
                    set(r.items);
                    onSelect(r.index);
                  }}
                  className="rounded border border-slate-300 px-1.5"
                >
                  U
                </button>
              )}
            </li>
          );
        })}
      </ol>
      <AxisRatings axes={schema.axes} completions={completions} draft={draft} onChange={onChange} />
      <Rationale mode={schema.rationale} draft={draft} onChange={onChange} />
    </div>
  );
}

/** The start of a completion's final answer, rendered (Markdown, math; the reasoning left out). */
function RowPreview({ text }: { text: string }) {
  const answer = splitReasoning(text).answer;
  return (
    <div
      className="relative max-h-12 min-w-0 flex-1 overflow-hidden text-slate-700"
      data-testid="rank-preview"
    >
      {answer ? (
        <Markdown className="text-xs [&_pre]:my-0 [&_p]:my-0">{answer}</Markdown>
      ) : (
        <span className="text-xs italic text-slate-500">(no final answer)</span>
      )}
    </div>
  );
}
