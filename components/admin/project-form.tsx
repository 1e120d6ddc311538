"use client";
// Create or edit a project: instructions in Markdown with a live preview, the label schema,
// overlap, gold ratio and the annotation settings. Validation errors come back from the server
// (zod in server/projects) and are shown as they are.
import { useState } from "react";
import { useRouter } from "next/navigation";
import { useMutation } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc";
import { Markdown } from "@/components/markdown/markdown";
import { errorMessage } from "@/components/annotate/errors";

interface Axis {
  key: string;
  label: string;
  min: number;
  max: number;
}

export interface ProjectFormValue {
  slug: string;
  name: string;
  instructions: string;
  kind: "pairwise" | "ranking";
  strength: boolean;
  allowTie: boolean;
  allowBothBad: boolean;
  judgeReasoningSeparately: boolean;
  allowTies: boolean;
  allowPartial: boolean;
  rationale: "off" | "optional" | "required";
  axes: Axis[];
  overlap: number;
  goldRatio: number;
  revealModelsAfterVote: boolean;
  leaseSeconds: number;
  reviewAgreementBelow: number;
  archived: boolean;
}

export const NEW_PROJECT: ProjectFormValue = {
  slug: "",
  name: "",
  instructions: "",
  kind: "pairwise",
  strength: true,
  allowTie: true,
  allowBothBad: true,
  judgeReasoningSeparately: false,
  allowTies: true,
  allowPartial: true,
  rationale: "optional",
  axes: [],
  overlap: 1,
  goldRatio: 0,
  revealModelsAfterVote: false,
  leaseSeconds: 600,
  reviewAgreementBelow: 0.5,
  archived: false,
};

function labelSchema(v: ProjectFormValue) {
  return v.kind === "pairwise"
    ? {
        kind: "pairwise" as const,
        strength: v.strength,
        allowTie: v.allowTie,
        allowBothBad: v.allowBothBad,
        judgeReasoningSeparately: v.judgeReasoningSeparately,
        rationale: v.rationale,
        axes: v.axes,
      }
    : {
        kind: "ranking" as const,
        allowTies: v.allowTies,
        allowPartial: v.allowPartial,
        rationale: v.rationale,
        axes: v.axes,
      };
}

const field = "rounded border border-slate-300 px-2 py-1";

export function ProjectForm({ initial, existing }: { initial: ProjectFormValue; existing: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const create = useMutation(trpc.admin.createProject.mutationOptions());
  const update = useMutation(trpc.admin.updateProject.mutationOptions());
  const [v, setV] = useState(initial);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const set = <K extends keyof ProjectFormValue>(k: K, value: ProjectFormValue[K]) =>
    setV((old) => ({ ...old, [k]: value }));
  const settings = {
    revealModelsAfterVote: v.revealModelsAfterVote,
    leaseSeconds: v.leaseSeconds,
    reviewAgreementBelow: v.reviewAgreementBelow,
  };

  const save = async () => {
    setMessage(null);
    try {
      if (existing) {
        await update.mutateAsync({
          project: v.slug,
          patch: {
            name: v.name,
            instructions: v.instructions,
            labelSchema: labelSchema(v),
            overlap: v.overlap,
            goldRatio: v.goldRatio,
            settings,
            archived: v.archived,
          },
        });
        setMessage({ ok: true, text: "Saved." });
        router.refresh();
      } else {
        const p = await create.mutateAsync({
          slug: v.slug,
          name: v.name,
          instructions: v.instructions,
          labelSchema: labelSchema(v),
          overlap: v.overlap,
          goldRatio: v.goldRatio,
          settings,
        });
        router.push(`/admin/projects/${p.slug}`);
      }
    } catch (e) {
      setMessage({ ok: false, text: errorMessage(e) });
    }
  };

  return (
    <form
      className="flex flex-col gap-4"
      data-testid="project-form"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <div className="grid gap-3 sm:grid-cols-2">
        <label className="flex flex-col gap-1 text-sm">
          Name
          <input
            required
            value={v.name}
            onChange={(e) => set("name", e.target.value)}
            className={field}
            data-testid="project-name"
          />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          Slug (in URLs; lowercase letters, digits, -)
          <input
            required
            disabled={existing}
            value={v.slug}
            onChange={(e) => set("slug", e.target.value)}
            // valid under the `v` flag browsers compile `pattern` with (a bare "-" in a class is not)
            pattern="[a-z0-9][a-z0-9\-]*"
            title="Lowercase letters, digits and -, starting with a letter or digit"
            className={field}
            data-testid="project-slug"
          />
        </label>
      </div>
      <div className="grid gap-3 md:grid-cols-2">
        <label className="flex flex-col gap-1 text-sm">
          Instructions (Markdown)
          <textarea
            value={v.instructions}
            onChange={(e) => set("instructions", e.target.value)}
            rows={10}
            className={`${field} font-mono text-xs`}
            data-testid="project-instructions"
          />
        </label>
        <div className="flex flex-col gap-1 text-sm">
          <span>Preview</span>
          <div
            className="min-h-40 rounded border border-slate-200 bg-white p-3"
            data-testid="instructions-preview"
          >
            <Markdown>{v.instructions || "_Nothing yet._"}</Markdown>
          </div>
        </div>
      </div>
      <fieldset className="flex flex-col gap-2 rounded border border-slate-200 p-3 text-sm">
        <legend className="px-1 font-medium">Label schema</legend>
        <label className="flex items-center gap-2">
          Kind
          <select
            value={v.kind}
            onChange={(e) => set("kind", e.target.value as "pairwise" | "ranking")}
            className={field}
            data-testid="project-kind"
          >
            <option value="pairwise">Pairwise (A/B)</option>
            <option value="ranking">K-way ranking</option>
          </select>
        </label>
        {v.kind === "pairwise" ? (
          <div className="flex flex-wrap gap-4">
            {(
              [
                ["strength", "Ask how much better (slightly / much)"],
                ["allowTie", "Allow tie"],
                ["allowBothBad", "Allow both bad"],
                ["judgeReasoningSeparately", "Judge <think> reasoning and final answer separately"],
              ] as const
            ).map(([k, label]) => (
              <label key={k} className="flex items-center gap-1">
                <input type="checkbox" checked={v[k]} onChange={(e) => set(k, e.target.checked)} /> {label}
              </label>
            ))}
          </div>
        ) : (
          <div className="flex flex-wrap gap-4">
            <label className="flex items-center gap-1">
              <input
                type="checkbox"
                checked={v.allowTies}
                onChange={(e) => set("allowTies", e.target.checked)}
              />{" "}
              Allow ties
            </label>
            <label className="flex items-center gap-1">
              <input
                type="checkbox"
                checked={v.allowPartial}
                onChange={(e) => set("allowPartial", e.target.checked)}
              />{" "}
              Allow partial rankings
            </label>
          </div>
        )}
        <label className="flex items-center gap-2">
          Rationale
          <select
            value={v.rationale}
            onChange={(e) => set("rationale", e.target.value as ProjectFormValue["rationale"])}
            className={field}
          >
            <option value="off">off</option>
            <option value="optional">optional</option>
            <option value="required">required</option>
          </select>
        </label>
        <div className="flex flex-col gap-1">
          <span>Rating axes (optional)</span>
          {v.axes.map((a, i) => (
            <div key={i} className="flex flex-wrap items-center gap-2">
              <input
                aria-label={`Axis ${i + 1} key`}
                value={a.key}
                onChange={(e) =>
                  set(
                    "axes",
                    v.axes.map((x, k) => (k === i ? { ...x, key: e.target.value } : x)),
                  )
                }
                placeholder="key"
                className={`${field} w-28`}
              />
              <input
                aria-label={`Axis ${i + 1} label`}
                value={a.label}
                onChange={(e) =>
                  set(
                    "axes",
                    v.axes.map((x, k) => (k === i ? { ...x, label: e.target.value } : x)),
                  )
                }
                placeholder="Label"
                className={`${field} w-40`}
              />
              <input
                aria-label={`Axis ${i + 1} min`}
                type="number"
                value={a.min}
                onChange={(e) =>
                  set(
                    "axes",
                    v.axes.map((x, k) => (k === i ? { ...x, min: Number(e.target.value) } : x)),
                  )
                }
                className={`${field} w-16`}
              />
              <input
                aria-label={`Axis ${i + 1} max`}
                type="number"
                value={a.max}
                onChange={(e) =>
                  set(
                    "axes",
                    v.axes.map((x, k) => (k === i ? { ...x, max: Number(e.target.value) } : x)),
                  )
                }
                className={`${field} w-16`}
              />
              <button
                type="button"
                onClick={() =>
                  set(
                    "axes",
                    v.axes.filter((_, k) => k !== i),
                  )
                }
                className="text-red-700 underline"
              >
                remove
              </button>
            </div>
          ))}
          <button
            type="button"
            onClick={() => set("axes", [...v.axes, { key: "", label: "", min: 1, max: 5 }])}
            className="self-start text-blue-700 underline"
          >
            Add an axis
          </button>
        </div>
      </fieldset>
      <fieldset className="grid gap-3 rounded border border-slate-200 p-3 text-sm sm:grid-cols-3">
        <legend className="px-1 font-medium">Quality</legend>
        <label className="flex flex-col gap-1">
          Overlap (judgments per comparison)
          <input
            type="number"
            min={1}
            max={50}
            value={v.overlap}
            onChange={(e) => set("overlap", Number(e.target.value))}
            className={field}
            data-testid="project-overlap"
          />
        </label>
        <label className="flex flex-col gap-1">
          Gold ratio (share of check items served)
          <input
            type="number"
            min={0}
            max={1}
            step={0.01}
            value={v.goldRatio}
            onChange={(e) => set("goldRatio", Number(e.target.value))}
            className={field}
            data-testid="project-gold-ratio"
          />
        </label>
        <label className="flex flex-col gap-1">
          Send to review below agreement
          <input
            type="number"
            min={0}
            max={1}
            step={0.05}
            value={v.reviewAgreementBelow}
            onChange={(e) => set("reviewAgreementBelow", Number(e.target.value))}
            className={field}
          />
        </label>
        <label className="flex flex-col gap-1">
          Lease length (seconds)
          <input
            type="number"
            min={30}
            max={86400}
            value={v.leaseSeconds}
            onChange={(e) => set("leaseSeconds", Number(e.target.value))}
            className={field}
          />
        </label>
        <label className="flex items-center gap-2">
          <input
            type="checkbox"
            checked={v.revealModelsAfterVote}
            onChange={(e) => set("revealModelsAfterVote", e.target.checked)}
            data-testid="project-reveal"
          />{" "}
          Reveal model names after a vote
        </label>
        {existing && (
          <label className="flex items-center gap-2">
            <input type="checkbox" checked={v.archived} onChange={(e) => set("archived", e.target.checked)} />{" "}
            Archived
          </label>
        )}
      </fieldset>
      {message && (
        <p
          role={message.ok ? "status" : "alert"}
          className={`text-sm ${message.ok ? "text-green-800" : "text-red-700"}`}
          data-testid="project-message"
        >
          {message.text}
        </p>
      )}
      <button
        type="submit"
        disabled={create.isPending || update.isPending}
        className="self-start rounded bg-slate-900 px-4 py-2 text-white disabled:opacity-50"
        data-testid="project-save"
      >
        {existing ? "Save" : "Create project"}
      </button>
    </form>
  );
}
