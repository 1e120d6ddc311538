"use client";
// K-way ranking: drag to order (native HTML5 drag and drop), or entirely by keyboard: ↑/↓ pick
// an item, Shift+↑/↓ move it, = ties it with the one above, U leaves it unranked.
import { useState } from "react";
import type { Draft } from "./draft";
import { moveItem, moveTo, places, toggleTie, toggleUnranked, type RankItem } from "./ranking-model";
import { AxisRatings, Rationale } from "./pairwise-controls";

export interface RankingSchema {
  kind: "ranking";
  allowTies: boolean;
  allowPartial: boolean;
  axes: Array<{ key: string; label: string; min: number; max: number }>;
  rationale: "off" | "optional" | "required";
}

export function RankingControls({
  schema,
  draft,
  onChange,
  completions,
  selected,
  onSelect,
}: {
  schema: RankingSchema;
  draft: Draft;
  onChange: (d: Draft) => void;
  completions: Array<{ id: string; label: string; text: string }>;
  selected: number;
  onSelect: (i: number) => void;
}) {
  const items = draft.ranking ?? [];
  const byId = new Map(completions.map((c) => [c.id, c]));
  const shown = places(items);
  const [dragging, setDragging] = useState<string | null>(null);
  const set = (next: RankItem[]) => onChange({ ...draft, ranking: next });
  return (
    <div className="flex flex-col gap-3">
      <div>
        <h3 className="text-sm font-medium" id="ranking-title">
          Your ranking, best first
        </h3>
        <p className="text-xs text-slate-600">
          Drag, or use ↑/↓ to pick and Shift+↑/↓ to move.
          {schema.allowTies ? " = ties with the one above." : ""}
          {schema.allowPartial ? " U leaves one unranked." : ""}
        </p>
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
              aria-current={i === selected ? "true" : undefined}
            >
              <span className="w-16 font-mono text-xs text-slate-600">
                {place === null ? "unranked" : `#${place}${it.tied ? " (tie)" : ""}`}
              </span>
              <span className="inline-flex h-6 w-6 items-center justify-center rounded bg-slate-900 text-white">
                {label}
              </span>
              <span className="min-w-0 flex-1 truncate text-slate-700">{c?.text.slice(0, 120)}</span>
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
