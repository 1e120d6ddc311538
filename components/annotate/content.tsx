"use client";
// The prompt (plain or a conversation) and one completion, with its reasoning trace collapsible.
import { Markdown } from "@/components/markdown/markdown";
import { splitReasoning } from "./reasoning";

export function PromptView({
  prompt,
}: {
  prompt: { text: string | null; messages: Array<{ role: string; content: string }> | null };
}) {
  return (
    <section
      aria-label="Prompt"
      className="rounded-lg border border-slate-200 bg-white p-4"
      data-testid="prompt"
    >
      <h2 className="mb-2 text-xs font-semibold uppercase tracking-wide text-slate-500">Prompt</h2>
      {prompt.messages ? (
        <ol className="flex flex-col gap-3">
          {prompt.messages.map((m, i) => (
            <li
              key={i}
              className={`rounded border-l-4 p-2 ${m.role === "user" ? "border-sky-400 bg-sky-50" : m.role === "system" ? "border-slate-400 bg-slate-50" : "border-emerald-400 bg-emerald-50"}`}
            >
              <div className="mb-1 text-xs font-semibold uppercase text-slate-600">{m.role}</div>
              <Markdown>{m.content}</Markdown>
            </li>
          ))}
        </ol>
      ) : (
        <Markdown>{prompt.text ?? ""}</Markdown>
      )}
    </section>
  );
}

export function CompletionCard({
  label,
  text,
  highlighted,
  modelName,
}: {
  label: string;
  text: string;
  highlighted?: boolean;
  modelName?: string;
}) {
  const { reasoning, answer } = splitReasoning(text);
  return (
    <section
      aria-label={`Completion ${label}`}
      className={`flex min-w-0 flex-col rounded-lg border bg-white p-4 ${highlighted ? "border-blue-600 ring-2 ring-blue-600" : "border-slate-200"}`}
      data-testid={`completion-${label}`}
    >
      <h2 className="mb-2 flex items-center gap-2 text-sm font-semibold">
        <span className="inline-flex h-6 w-6 items-center justify-center rounded bg-slate-900 text-white">
          {label}
        </span>
        Completion {label}
        {modelName && (
          <span
            className="ml-auto rounded bg-amber-100 px-2 py-0.5 text-xs font-normal text-amber-900"
            data-testid={`model-${label}`}
          >
            {modelName}
          </span>
        )}
      </h2>
      {reasoning !== null && (
        <details
          className="mb-3 rounded border border-slate-200 bg-slate-50 p-2"
          data-testid={`reasoning-${label}`}
        >
          <summary className="cursor-pointer text-sm text-slate-700">
            Reasoning ({reasoning.length.toLocaleString()} characters)
          </summary>
          <Markdown className="mt-2 text-sm text-slate-700">{reasoning}</Markdown>
        </details>
      )}
      {answer ? (
        <Markdown testId={`completion-text-${label}`}>{answer}</Markdown>
      ) : (
        <p className="text-sm italic text-slate-500">(no final answer)</p>
      )}
    </section>
  );
}
