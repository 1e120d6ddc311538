"use client";
// The judging keys (`?` lists them), as one window keydown handler reading the latest session
// state through a ref. Keys never take what the focused element does with them: Enter on a link,
// a button, a summary or a form control follows, presses, opens or types there; only Enter
// elsewhere submits.
import { useEffect, useRef } from "react";
import type { Choice } from "./draft";
import type { KeyHelp } from "./help-dialog";
import { moveItem, toggleTie, toggleUnranked } from "./ranking-model";
import type { AnnotateSessionState } from "./use-annotate-session";

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return (
    !!el &&
    (el.tagName === "TEXTAREA" || el.tagName === "INPUT" || el.tagName === "SELECT" || el.isContentEditable)
  );
}

/** Elements whose own Enter (follow, press, open, choose) must win over the page's submit. */
const OWNS_ENTER =
  'a[href], button, summary, input, select, textarea, [contenteditable="true"], [role="button"], [role="link"], [role="checkbox"], [role="radio"], [role="option"], [role="menuitem"], [role="tab"]';

export function ownsEnter(target: EventTarget | null): boolean {
  return target instanceof Element && target.closest(OWNS_ENTER) !== null;
}

export function useAnnotateKeys(s: AnnotateSessionState): KeyHelp[] {
  const { schema } = s;
  const onKey = useRef<(e: KeyboardEvent) => void>(() => {});
  const handleKey = (e: KeyboardEvent) => {
    const { phase, draft, selected, assignment } = s;
    if (s.dialog) {
      if (e.key === "Escape") s.setDialog(null);
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && phase === "item") {
        e.preventDefault();
        void s.submit();
      }
      return;
    }
    if (isTyping(e.target)) {
      if (e.key === "Escape") (e.target as HTMLElement).blur();
      return;
    }
    const k = e.key;
    if (k === "Enter" && ownsEnter(e.target)) return;
    if (k === "?") {
      e.preventDefault();
      s.setDialog("help");
      return;
    }
    if (k === "i" || k === "I") {
      s.toggleInstructions();
      return;
    }
    if (phase === "revealed" || phase === "recorded_elsewhere" || phase === "empty" || phase === "error") {
      if (k === "n" || k === "N" || k === "Enter") {
        e.preventDefault();
        void s.loadNext();
      }
      return;
    }
    if (phase === "expired") {
      if (k === "Enter") {
        e.preventDefault();
        void s.resume();
      } else if (k === "n" || k === "N") {
        e.preventDefault();
        void s.moveOn();
      }
      return;
    }
    if (phase !== "item") return;
    const lower = k.toLowerCase();
    if (k === "Enter") {
      e.preventDefault();
      void s.submit();
    } else if (lower === "s") {
      e.preventDefault();
      s.openDialog("skip");
    } else if (lower === "f") {
      e.preventDefault();
      s.openDialog("flag");
    } else if (lower === "r" && schema.rationale !== "off") {
      e.preventDefault();
      document.getElementById("rationale")?.focus();
    } else if (schema.kind === "pairwise") {
      const map: Record<string, Choice> = { a: "A", b: "B", t: "tie", x: "both_bad" };
      if (map[lower]) {
        e.preventDefault();
        s.choose(map[lower]!, e.shiftKey);
      } else if (k === "1" || k === "2") {
        e.preventDefault();
        if (draft.choice === "A" || draft.choice === "B")
          s.setDraft({ ...draft, strength: k === "1" ? 1 : 2 });
      } else if (k === "!" || k === "@") {
        if (draft.reasoningChoice === "A" || draft.reasoningChoice === "B")
          s.setDraft({ ...draft, reasoningStrength: k === "!" ? 1 : 2 });
      }
    } else {
      const items = draft.ranking ?? [];
      if (k === "ArrowUp" || k === "ArrowDown" || lower === "k" || lower === "j") {
        e.preventDefault();
        const delta = k === "ArrowUp" || lower === "k" ? -1 : 1;
        if (e.shiftKey) {
          const r = moveItem(items, selected, delta);
          s.setRanking(r.items);
          s.setSelected(r.index);
        } else s.setSelected(Math.min(items.length - 1, Math.max(0, selected + delta)));
      } else if (k === "=" && schema.allowTies) {
        e.preventDefault();
        s.setRanking(toggleTie(items, selected));
      } else if (lower === "u" && schema.allowPartial) {
        e.preventDefault();
        const r = toggleUnranked(items, selected);
        s.setRanking(r.items);
        s.setSelected(r.index);
      } else if (lower === "o") {
        e.preventDefault();
        s.setRanking(items);
      } else if (/^[1-9]$/.test(k)) {
        // jump the selection to the completion with that letter's position (1 = A)
        const target = assignment?.completions[Number(k) - 1];
        const idx = target ? items.findIndex((x) => x.id === target.id) : -1;
        if (idx >= 0) s.setSelected(idx);
      }
    }
  };
  // The handler of the latest render, assigned after it (refs are not written during render).
  useEffect(() => {
    onKey.current = handleKey;
  });
  useEffect(() => {
    const h = (e: KeyboardEvent) => onKey.current(e);
    window.addEventListener("keydown", h);
    return () => window.removeEventListener("keydown", h);
  }, []);

  return [
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
          { keys: "O", action: "Keep the order shown as your ranking" },
        ]),
    ...(schema.rationale !== "off"
      ? [{ keys: "R", action: "Type a rationale (Esc leaves the text box)" }]
      : []),
    { keys: "Enter / Ctrl+Enter", action: "Submit (Enter on a focused link or button uses that instead)" },
    { keys: "S", action: "Skip, with a reason" },
    { keys: "F", action: "Flag: unsafe, private data, broken" },
    { keys: "N", action: "Next item (after a reveal, or when the lease ran out)" },
    { keys: "I", action: "Show or hide the instructions" },
    { keys: "Tab", action: "Move between controls" },
    { keys: "Space / Enter", action: 'On a focused "Reasoning" line: open or close it' },
    { keys: "?", action: "This help" },
    { keys: "Esc", action: "Close a dialog / leave a text box" },
  ];
}
