"use client";
// Skip and flag both ask for a reason: a choice (keys 1..n) and, where needed, a few words.
import { useEffect, useRef, useState } from "react";

export interface ReasonOption<V extends string = string> {
  value: V;
  label: string;
}

export function ReasonDialog<V extends string>({
  title,
  testId,
  options,
  textLabel,
  textRequired,
  submitLabel,
  busy,
  error,
  onSubmit,
  onClose,
}: {
  title: string;
  testId: string;
  options: readonly ReasonOption<V>[];
  textLabel: string;
  textRequired: boolean;
  submitLabel: string;
  busy: boolean;
  error: string | null;
  onSubmit: (value: V, text: string) => void;
  onClose: () => void;
}) {
  const [value, setValue] = useState<V>(options[0]!.value);
  const [text, setText] = useState("");
  const radios = useRef<Array<HTMLInputElement | null>>([]);
  useEffect(() => radios.current[0]?.focus(), []);
  // Focus follows the chosen reason, so that one Tab reaches the text box (Chrome lets Tab stop
  // on the checked radio of a group, which would be a second stop after a focused unchecked one).
  const choose = (i: number) => {
    const o = options[i];
    if (!o) return;
    setValue(o.value);
    radios.current[i]?.focus();
  };
  const missing = textRequired && !text.trim();
  return (
    <div className="fixed inset-0 z-50 flex items-center justify-center bg-black/40 p-4">
      <form
        role="dialog"
        aria-modal="true"
        aria-labelledby={`${testId}-title`}
        className="w-full max-w-md rounded-lg bg-white p-6 shadow-xl"
        data-testid={testId}
        onSubmit={(e) => {
          e.preventDefault();
          if (!missing && !busy) onSubmit(value, text.trim());
        }}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            e.preventDefault();
            e.stopPropagation();
            onClose();
          } else if (/^[1-9]$/.test(e.key) && !(e.target instanceof HTMLTextAreaElement)) {
            if (options[Number(e.key) - 1]) {
              e.preventDefault();
              choose(Number(e.key) - 1);
            }
          } else if (
            e.key === "Enter" &&
            (e.ctrlKey || e.metaKey || (e.target as HTMLElement).tagName === "INPUT")
          ) {
            // Enter on a reason (radio) submits, as it would from a text field
            e.preventDefault();
            if (!missing && !busy) onSubmit(value, text.trim());
          }
          e.stopPropagation(); // the page's shortcuts stay off while the dialog is open
        }}
      >
        <h2 id={`${testId}-title`} className="mb-3 text-lg font-semibold">
          {title}
        </h2>
        <fieldset className="mb-3 flex flex-col gap-1">
          <legend className="sr-only">Reason</legend>
          {options.map((o, i) => (
            <label key={o.value} className="flex items-center gap-2 text-sm">
              <input
                ref={(el) => {
                  radios.current[i] = el;
                }}
                type="radio"
                name="reason"
                value={o.value}
                checked={value === o.value}
                onChange={() => setValue(o.value)}
                data-testid={`${testId}-option-${o.value}`}
              />
              <kbd className="key-hint rounded border border-slate-300 px-1 font-mono text-xs">{i + 1}</kbd>
              {o.label}
            </label>
          ))}
        </fieldset>
        <label className="flex flex-col gap-1 text-sm">
          {textLabel}
          <textarea
            value={text}
            onChange={(e) => setText(e.target.value)}
            rows={3}
            className="rounded border border-slate-300 p-2"
            data-testid={`${testId}-text`}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey && !e.ctrlKey && !e.metaKey) {
                e.preventDefault();
                if (!missing && !busy) onSubmit(value, text.trim());
              }
            }}
          />
        </label>
        {error && (
          <p role="alert" className="mt-2 text-sm text-red-700">
            {error}
          </p>
        )}
        <div className="mt-4 flex gap-2">
          <button
            type="submit"
            disabled={missing || busy}
            className="rounded bg-slate-900 px-3 py-1.5 text-sm text-white disabled:opacity-50"
            data-testid={`${testId}-submit`}
          >
            {submitLabel} <span className="key-hint">(Enter)</span>
          </button>
          <button
            type="button"
            onClick={onClose}
            className="rounded border border-slate-300 px-3 py-1.5 text-sm"
          >
            Cancel <span className="key-hint">(Esc)</span>
          </button>
        </div>
      </form>
    </div>
  );
}
