"use client";
// `?` shows the keys.
import { useEffect, useRef } from "react";

export interface KeyHelp {
  keys: string;
  action: string;
}

export function HelpDialog({ items, onClose }: { items: KeyHelp[]; onClose: () => void }) {
  const ref = useRef<HTMLButtonElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <div className="fixed inset-0 z-50 flex items-center justify-center bg-black/40 p-4" onClick={onClose}>
      <div
        role="dialog"
        aria-modal="true"
        aria-labelledby="help-title"
        className="max-h-[90vh] w-full max-w-lg overflow-auto rounded-lg bg-white p-6 shadow-xl"
        onClick={(e) => e.stopPropagation()}
        data-testid="help-dialog"
      >
        <h2 id="help-title" className="mb-3 text-lg font-semibold">
          Keyboard shortcuts
        </h2>
        <table className="w-full text-sm">
          <tbody>
            {items.map((i) => (
              <tr key={i.keys} className="border-b border-slate-100">
                <td className="py-1 pr-4">
                  <kbd className="rounded border border-slate-300 bg-slate-50 px-1.5 py-0.5 font-mono text-xs">
                    {i.keys}
                  </kbd>
                </td>
                <td className="py-1">{i.action}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <button
          ref={ref}
          type="button"
          onClick={onClose}
          className="mt-4 rounded bg-slate-900 px-3 py-1.5 text-sm text-white"
          data-testid="help-close"
        >
          Close (Esc)
        </button>
      </div>
    </div>
  );
}
