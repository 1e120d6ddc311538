"use client";
// The AI-judges admin: judge configurations (the API key is write-only: the page only ever learns
// "set" / "not set"), runs with live progress, tokens and cost, pause / resume / cancel, the
// failures of a run with their reasons, and the judge-vs-human agreement report.
import { Fragment, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC, type RouterOutputs } from "@/components/trpc";
import { plural } from "@/components/plural";
import { errorMessage } from "@/components/annotate/errors";

const pct = (v: number | null | undefined) =>
  v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)}%`;
const fix = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? "–" : v.toFixed(d));
const usd = (v: number) => (v === 0 ? "$0" : v < 0.01 ? `$${v.toFixed(5)}` : `$${v.toFixed(2)}`);

type Kind = "llm" | "reward_model" | "rule";

interface FormState {
  name: string;
  kind: Kind;
  baseUrl: string;
  model: string;
  apiKey: string;
  temperature: string;
  maxTokens: string;
  rubricPreset: string;
  customRubric: boolean;
  rubric: string;
  systemPrompt: string;
  positionSwap: boolean;
  logprobs: boolean;
  concurrency: string;
  requestsPerMinute: string;
  tokensPerMinute: string;
  timeoutMs: string;
  costIn: string;
  costOut: string;
  shared: boolean;
}

/** A new judge's defaults; the base URL is the server's own `pairwise serve` (PAIRWISE_SERVE_PORT). */
const emptyForm = (defaultBaseUrl: string): FormState => ({
  name: "",
  kind: "llm",
  baseUrl: defaultBaseUrl,
  model: "pairwise-tiny",
  apiKey: "",
  temperature: "0",
  maxTokens: "1024",
  rubricPreset: "mt-bench-pair",
  customRubric: false,
  rubric: "",
  systemPrompt: "",
  positionSwap: true,
  logprobs: true,
  concurrency: "4",
  requestsPerMinute: "",
  tokensPerMinute: "",
  timeoutMs: "60000",
  costIn: "0",
  costOut: "0",
  shared: false,
});

const optNum = (s: string) => (s.trim() === "" ? null : Number(s));

function Field({ label, children, hint }: { label: string; children: React.ReactNode; hint?: string }) {
  return (
    <label className="flex flex-col gap-1 text-sm">
      <span className="font-medium">{label}</span>
      {children}
      {hint ? <span className="text-xs text-slate-500">{hint}</span> : null}
    </label>
  );
}

const input = "rounded border border-slate-300 px-2 py-1";

function JudgeForm({
  project,
  defaultBaseUrl,
  onDone,
}: {
  project: string;
  defaultBaseUrl: string;
  onDone: () => void;
}) {
  const trpc = useTRPC();
  const rubrics = useQuery(trpc.judges.rubrics.queryOptions());
  const create = useMutation(trpc.judges.createConfig.mutationOptions());
  const [f, setF] = useState<FormState>(() => emptyForm(defaultBaseUrl));
  const set = <K extends keyof FormState>(k: K, v: FormState[K]) => setF((s) => ({ ...s, [k]: v }));
  const preset = rubrics.data?.presets.find((p) => p.id === f.rubricPreset);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    await create.mutateAsync({
      project: f.shared ? null : project,
      name: f.name,
      kind: f.kind,
      ...(f.kind === "llm"
        ? {
            baseUrl: f.baseUrl,
            model: f.model,
            apiKey: f.apiKey || undefined,
            temperature: Number(f.temperature),
            maxTokens: Number(f.maxTokens),
            rubricPreset: f.rubricPreset as "mt-bench-pair" | "mt-bench-pair-reference",
            ...(f.customRubric ? { rubric: f.rubric, systemPrompt: f.systemPrompt } : {}),
            positionSwap: f.positionSwap,
            logprobs: f.logprobs,
            concurrency: Number(f.concurrency),
            requestsPerMinute: optNum(f.requestsPerMinute),
            tokensPerMinute: optNum(f.tokensPerMinute),
            timeoutMs: Number(f.timeoutMs),
            costPerMInputTokens: Number(f.costIn),
            costPerMOutputTokens: Number(f.costOut),
          }
        : {}),
    });
    setF(emptyForm(defaultBaseUrl));
    onDone();
  };

  return (
    <form
      onSubmit={submit}
      className="flex flex-col gap-3 rounded border bg-white p-4"
      data-testid="judge-form"
    >
      <h2 className="text-lg font-semibold">New judge</h2>
      <div className="grid grid-cols-1 gap-3 md:grid-cols-3">
        <Field label="Name">
          <input
            className={input}
            value={f.name}
            onChange={(e) => set("name", e.target.value)}
            required
            data-testid="judge-name"
          />
        </Field>
        <Field label="Kind">
          <select
            className={input}
            value={f.kind}
            onChange={(e) => set("kind", e.target.value as Kind)}
            data-testid="judge-kind"
          >
            <option value="llm">LLM (OpenAI-compatible endpoint)</option>
            <option value="reward_model">Reward model (latest reward checkpoint)</option>
            <option value="rule">Rule (programmatic answer check)</option>
          </select>
        </Field>
        <Field label="Scope">
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={f.shared} onChange={(e) => set("shared", e.target.checked)} />{" "}
            shared by all projects
          </label>
        </Field>
      </div>
      {f.kind === "llm" ? (
        <>
          <div className="grid grid-cols-1 gap-3 md:grid-cols-3">
            <Field
              label="Base URL"
              hint="vLLM, Ollama (/v1), llama.cpp server, OpenAI, DeepSeek, or pairwise serve"
            >
              <input
                className={input}
                value={f.baseUrl}
                onChange={(e) => set("baseUrl", e.target.value)}
                required
                data-testid="judge-base-url"
              />
            </Field>
            <Field label="Model">
              <input
                className={input}
                value={f.model}
                onChange={(e) => set("model", e.target.value)}
                required
                data-testid="judge-model"
              />
            </Field>
            <Field label="API key" hint="Stored encrypted (AES-256-GCM); never shown again">
              <input
                className={input}
                type="password"
                autoComplete="off"
                value={f.apiKey}
                onChange={(e) => set("apiKey", e.target.value)}
                data-testid="judge-api-key"
              />
            </Field>
            <Field label="Temperature">
              <input
                className={input}
                type="number"
                step="0.1"
                min="0"
                max="2"
                value={f.temperature}
                onChange={(e) => set("temperature", e.target.value)}
              />
            </Field>
            <Field label="Max tokens">
              <input
                className={input}
                type="number"
                min="1"
                value={f.maxTokens}
                onChange={(e) => set("maxTokens", e.target.value)}
                data-testid="judge-max-tokens"
              />
            </Field>
            <Field label="Timeout per request (ms)">
              <input
                className={input}
                type="number"
                min="100"
                value={f.timeoutMs}
                onChange={(e) => set("timeoutMs", e.target.value)}
              />
            </Field>
            <Field label="Concurrency">
              <input
                className={input}
                type="number"
                min="1"
                value={f.concurrency}
                onChange={(e) => set("concurrency", e.target.value)}
              />
            </Field>
            <Field label="Requests / minute" hint="empty = no limit">
              <input
                className={input}
                type="number"
                min="1"
                value={f.requestsPerMinute}
                onChange={(e) => set("requestsPerMinute", e.target.value)}
              />
            </Field>
            <Field label="Tokens / minute" hint="empty = no limit">
              <input
                className={input}
                type="number"
                min="1"
                value={f.tokensPerMinute}
                onChange={(e) => set("tokensPerMinute", e.target.value)}
              />
            </Field>
            <Field label="$ per 1M input tokens">
              <input
                className={input}
                type="number"
                step="0.01"
                min="0"
                value={f.costIn}
                onChange={(e) => set("costIn", e.target.value)}
              />
            </Field>
            <Field label="$ per 1M output tokens">
              <input
                className={input}
                type="number"
                step="0.01"
                min="0"
                value={f.costOut}
                onChange={(e) => set("costOut", e.target.value)}
              />
            </Field>
            <div className="flex flex-col gap-2 text-sm">
              <label className="flex items-center gap-2">
                <input
                  type="checkbox"
                  checked={f.positionSwap}
                  onChange={(e) => set("positionSwap", e.target.checked)}
                />{" "}
                position swap (judge both orders)
              </label>
              <label className="flex items-center gap-2">
                <input
                  type="checkbox"
                  checked={f.logprobs}
                  onChange={(e) => set("logprobs", e.target.checked)}
                />{" "}
                ask for logprobs (confidence)
              </label>
            </div>
          </div>
          <Field label="Rubric">
            <select
              className={input}
              value={f.rubricPreset}
              onChange={(e) => set("rubricPreset", e.target.value)}
              data-testid="judge-rubric-preset"
            >
              {rubrics.data?.presets.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.label}
                </option>
              ))}
            </select>
          </Field>
          <label className="flex items-center gap-2 text-sm">
            <input
              type="checkbox"
              checked={f.customRubric}
              onChange={(e) =>
                setF((s) => ({
                  ...s,
                  customRubric: e.target.checked,
                  rubric: s.rubric || preset?.template || "",
                  systemPrompt: s.systemPrompt || preset?.system || "",
                }))
              }
              data-testid="judge-custom-rubric"
            />
            write my own (placeholders: {rubrics.data?.placeholders.map((p) => `{${p}}`).join(" ")}; the
            verdict is read from [[A]] / [[B]] / [[C]])
          </label>
          {f.customRubric ? (
            <div className="grid grid-cols-1 gap-3 md:grid-cols-2">
              <Field label="System message">
                <textarea
                  className={`${input} h-40 font-mono text-xs`}
                  value={f.systemPrompt}
                  onChange={(e) => set("systemPrompt", e.target.value)}
                />
              </Field>
              <Field label="User message template">
                <textarea
                  className={`${input} h-40 font-mono text-xs`}
                  value={f.rubric}
                  onChange={(e) => set("rubric", e.target.value)}
                  data-testid="judge-rubric"
                />
              </Field>
            </div>
          ) : (
            <pre className="max-h-40 overflow-auto whitespace-pre-wrap rounded bg-slate-50 p-2 text-xs">
              {preset ? `${preset.system}\n\n${preset.template}` : ""}
            </pre>
          )}
        </>
      ) : f.kind === "reward_model" ? (
        <p className="text-sm text-slate-600">
          Scores both completions with the project&apos;s latest reward-model checkpoint; confidence is
          σ(r_winner − r_loser).
        </p>
      ) : (
        <p className="text-sm text-slate-600">
          For tasks with a known answer (Prompt.metadata.answer or metadata.problem.answer, as mini-R1 prompts
          carry): the trainer&apos;s gold reward decides. Exact and free.
        </p>
      )}
      {create.error ? (
        <p role="alert" className="text-sm text-red-700" data-testid="judge-form-error">
          {errorMessage(create.error)}
        </p>
      ) : null}
      <div>
        <button
          type="submit"
          className="rounded bg-slate-900 px-3 py-1.5 text-sm text-white disabled:opacity-50"
          disabled={create.isPending || !project}
          data-testid="judge-create"
        >
          {create.isPending ? "Saving…" : "Create judge"}
        </button>
      </div>
    </form>
  );
}

function AgreementPanel({ project, judgeConfigId }: { project: string; judgeConfigId: string }) {
  const trpc = useTRPC();
  const q = useQuery(trpc.judges.agreement.queryOptions({ project, judgeConfigId }));
  if (q.isLoading) return <p className="text-sm">Computing…</p>;
  if (q.error) return <p className="text-sm text-red-700">{errorMessage(q.error)}</p>;
  const r = q.data!;
  const a = r.overlap.agreement;
  return (
    <div
      className="grid grid-cols-1 gap-4 rounded border bg-white p-4 text-sm md:grid-cols-2"
      data-testid="agreement-report"
    >
      <div>
        <h3 className="font-semibold">Agreement with humans</h3>
        <p className="text-xs text-slate-500">
          {plural(r.overlap.n, "comparison")} judged by both
          {r.overlap.humansSplit ? ` (${r.overlap.humansSplit} left out: humans split evenly)` : ""};{" "}
          {r.judgeJudgments} judged by this judge.
        </p>
        <table className="mt-2">
          <tbody>
            <tr>
              <td className="pr-4">Cohen&apos;s κ with ties</td>
              <td data-testid="kappa-ties">{fix(a.withTies.kappa)}</td>
            </tr>
            <tr>
              <td className="pr-4">Cohen&apos;s κ, decisive votes only</td>
              <td data-testid="kappa-decisive">
                {fix(a.decisiveOnly.kappa)} (n = {a.decisiveOnly.n})
              </td>
            </tr>
            <tr>
              <td className="pr-4">Raw agreement</td>
              <td data-testid="raw-agreement">{pct(r.overlap.rawAgreement)}</td>
            </tr>
          </tbody>
        </table>
      </div>
      <div>
        <h3 className="font-semibold">Biases</h3>
        <table className="mt-2">
          <tbody>
            <tr>
              <td className="pr-4">Position: first shown wins</td>
              <td data-testid="position-bias">
                {pct(r.positionBias.firstWins.estimate)} of {r.positionBias.firstWins.considered} decisive
                calls (95% {pct(r.positionBias.firstWins.lower)}–{pct(r.positionBias.firstWins.upper)}; 50% =
                none)
              </td>
            </tr>
            <tr>
              <td className="pr-4">Length: longer wins (judge)</td>
              <td data-testid="length-bias">
                {pct(r.lengthBias.judge.longerWins.estimate)} of {r.lengthBias.judge.longerWins.considered}
              </td>
            </tr>
            <tr>
              <td className="pr-4">Length: longer wins (humans, same items)</td>
              <td>
                {pct(r.lengthBias.humansOnOverlap.longerWins.estimate)} of{" "}
                {r.lengthBias.humansOnOverlap.longerWins.considered}
              </td>
            </tr>
            <tr>
              <td className="pr-4">Swap inconsistency</td>
              <td data-testid="swap-inconsistency">
                {pct(r.swap.inconsistent.estimate)} of {r.swap.comparisons} (same position both times:{" "}
                {pct(r.swap.samePosition.estimate)})
              </td>
            </tr>
          </tbody>
        </table>
      </div>
    </div>
  );
}

function RunProblems({ runId }: { runId: string }) {
  const trpc = useTRPC();
  const q = useQuery(trpc.judges.run.queryOptions({ runId }));
  if (!q.data) return null;
  if (!q.data.problems.length)
    return <p className="p-2 text-xs text-slate-500">No failed or unparseable calls.</p>;
  return (
    // Fixed columns that wrap anything long (ids, replies without spaces): the table never gets
    // wider than the page.
    <table
      className="w-full table-fixed text-xs [overflow-wrap:anywhere]"
      data-testid={`run-problems-${runId}`}
    >
      <thead>
        <tr className="text-left">
          <th className="w-[18%] p-1">Comparison</th>
          <th className="w-[8%] p-1">Order</th>
          <th className="w-[5%] p-1">Try</th>
          <th className="w-[10%] p-1">Status</th>
          <th className="w-[24%] p-1">Reason</th>
          <th className="p-1">Reply</th>
        </tr>
      </thead>
      <tbody>
        {q.data.problems.map((p) => (
          <tr key={p.id} className="border-t align-top">
            <td className="p-1 font-mono">{p.comparisonId}</td>
            <td className="p-1">{p.order}</td>
            <td className="p-1">{p.try}</td>
            <td className="p-1">{p.status}</td>
            <td className="p-1">{p.error}</td>
            <td className="p-1 whitespace-pre-wrap text-slate-600">
              <div className="max-h-40 overflow-y-auto">{p.rawReply}</div>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

type Run = RouterOutputs["judges"]["runs"][number];

const runStatusColor: Record<string, string> = {
  queued: "text-slate-700",
  running: "text-blue-800",
  paused: "text-amber-800",
  succeeded: "text-green-800",
  failed: "text-red-800",
  cancelled: "text-amber-800",
};

/** A run's status, honest about a run that finished without a single verdict. */
function RunStatus({ run }: { run: Run }) {
  if (run.status === "succeeded" && run.done === 0 && run.processed > 0)
    return (
      <span className="text-amber-800" data-testid={`run-${run.id}-no-verdicts`}>
        finished: no verdicts
        <span className="block max-w-xs text-xs">
          None of {plural(run.processed, "comparison")} got a verdict ({run.failed} failed, {run.unparseable}{" "}
          unparseable): see Details.
        </span>
      </span>
    );
  return (
    <span className={runStatusColor[run.status] ?? "text-slate-700"}>{run.status.replace(/_/g, " ")}</span>
  );
}

export function JudgesAdmin({
  initialProject,
  defaultBaseUrl,
}: {
  initialProject: string;
  defaultBaseUrl: string;
}) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const projects = useQuery(trpc.admin.projects.queryOptions());
  const [picked, setProject] = useState(initialProject);
  // The first project until one is picked (derived, not copied into state by an effect).
  const project = picked || projects.data?.[0]?.slug || "";
  const configs = useQuery({ ...trpc.judges.configs.queryOptions({ project }), enabled: !!project });
  const runs = useQuery({
    ...trpc.judges.runs.queryOptions({ project }),
    enabled: !!project,
    // Live while anything is queued or running.
    refetchInterval: (q) =>
      (q.state.data ?? []).some((r) => r.status === "queued" || r.status === "running") ? 1000 : false,
  });
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: trpc.judges.runs.queryKey() });
    void qc.invalidateQueries({ queryKey: trpc.judges.configs.queryKey() });
  };
  const start = useMutation(trpc.judges.startRun.mutationOptions({ onSuccess: refresh }));
  const pause = useMutation(trpc.judges.pauseRun.mutationOptions({ onSuccess: refresh }));
  const resume = useMutation(trpc.judges.resumeRun.mutationOptions({ onSuccess: refresh }));
  const cancel = useMutation(trpc.judges.cancelRun.mutationOptions({ onSuccess: refresh }));
  const setActive = useMutation(trpc.judges.updateConfig.mutationOptions({ onSuccess: refresh }));
  const [newKey, setNewKey] = useState<Record<string, string>>({});
  const [report, setReport] = useState<string | null>(null);
  const [openRun, setOpenRun] = useState<string | null>(null);
  const [limit, setLimit] = useState("1000");
  const actionError = start.error ?? pause.error ?? resume.error ?? cancel.error ?? setActive.error;

  return (
    <div className="flex flex-col gap-6" data-testid="judges-admin">
      <div className="flex flex-wrap items-baseline gap-4">
        <h1 className="text-2xl font-semibold">AI judges</h1>
        <label className="flex items-center gap-2 text-sm">
          Project
          <select
            className={input}
            value={project}
            onChange={(e) => setProject(e.target.value)}
            data-testid="judges-project"
          >
            {projects.data?.map((p) => (
              <option key={p.id} value={p.slug}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label className="flex items-center gap-2 text-sm">
          Comparisons per run
          <input
            className={`${input} w-24`}
            type="number"
            min="1"
            value={limit}
            onChange={(e) => setLimit(e.target.value)}
            data-testid="run-limit"
          />
        </label>
      </div>
      {actionError ? (
        <p role="alert" className="text-sm text-red-700">
          {errorMessage(actionError)}
        </p>
      ) : null}

      <section className="flex flex-col gap-2">
        <h2 className="text-lg font-semibold">Judges</h2>
        <table className="w-full border-collapse bg-white text-sm">
          <thead>
            <tr className="border-b text-left">
              <th className="p-2">Name</th>
              <th className="p-2">Kind</th>
              <th className="p-2">Endpoint</th>
              <th className="p-2">API key</th>
              <th className="p-2">Version</th>
              <th className="p-2">Swap</th>
              <th className="p-2"></th>
            </tr>
          </thead>
          <tbody>
            {configs.data?.map((c) => (
              <tr key={c.id} className="border-b align-top" data-testid={`judge-${c.name}`}>
                <td className="p-2 font-medium">
                  {c.name}
                  {c.projectId ? "" : " (shared)"}
                  {c.active ? "" : " — off"}
                </td>
                <td className="p-2">{c.kind}</td>
                <td className="p-2 font-mono text-xs">
                  {c.kind === "llm" ? `${c.model} @ ${c.baseUrl}` : "–"}
                </td>
                <td className="p-2" data-testid={`judge-${c.name}-key`}>
                  {c.kind === "llm" ? (
                    <div className="flex flex-col gap-1">
                      <span>{c.apiKey}</span>
                      <span className="flex gap-1">
                        <input
                          className={`${input} w-32 text-xs`}
                          type="password"
                          autoComplete="off"
                          placeholder="new key"
                          value={newKey[c.id] ?? ""}
                          onChange={(e) => setNewKey((s) => ({ ...s, [c.id]: e.target.value }))}
                        />
                        <button
                          className="text-xs text-blue-700 underline"
                          onClick={() => {
                            setActive.mutate({ id: c.id, patch: { apiKey: newKey[c.id] ?? "" } });
                            setNewKey((s) => ({ ...s, [c.id]: "" }));
                          }}
                        >
                          {newKey[c.id] ? "set" : "clear"}
                        </button>
                      </span>
                    </div>
                  ) : (
                    "–"
                  )}
                </td>
                <td className="p-2">v{c.version}</td>
                <td className="p-2">{c.kind === "llm" ? (c.positionSwap ? "on" : "off") : "–"}</td>
                <td className="flex flex-wrap gap-2 p-2">
                  <button
                    className="rounded bg-slate-900 px-2 py-1 text-xs text-white disabled:opacity-50"
                    disabled={!c.active || start.isPending}
                    onClick={() =>
                      start.mutate({
                        judgeConfigId: c.id,
                        project,
                        selection: { limit: Math.max(1, Number(limit) || 1000) },
                      })
                    }
                    data-testid={`judge-${c.name}-run`}
                  >
                    Run
                  </button>
                  <button
                    className="text-xs text-blue-700 underline"
                    onClick={() => setReport(report === c.id ? null : c.id)}
                    data-testid={`judge-${c.name}-agreement`}
                  >
                    Agreement
                  </button>
                  <button
                    className="text-xs text-blue-700 underline"
                    onClick={() => setActive.mutate({ id: c.id, patch: { active: !c.active } })}
                  >
                    {c.active ? "Switch off" : "Switch on"}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {configs.data && configs.data.length === 0 ? (
          <p className="text-sm text-slate-600">No judges yet: create one below.</p>
        ) : null}
        {report && project ? <AgreementPanel project={project} judgeConfigId={report} /> : null}
      </section>

      <section className="flex flex-col gap-2">
        <h2 className="text-lg font-semibold">Runs</h2>
        <div className="overflow-x-auto">
          <table className="w-full border-collapse bg-white text-sm" data-testid="judge-runs">
            <thead>
              <tr className="border-b text-left">
                <th className="p-2">Judge</th>
                <th className="p-2">Status</th>
                <th className="p-2">Progress</th>
                <th className="p-2">Judged</th>
                <th className="p-2">Failed</th>
                <th className="p-2">No verdict</th>
                <th className="p-2">Inconsistent</th>
                <th className="p-2">Tokens (in / out)</th>
                <th className="p-2">Cost</th>
                <th className="p-2"></th>
              </tr>
            </thead>
            <tbody>
              {runs.data?.map((r) => (
                <Fragment key={r.id}>
                  <tr className="border-b align-top" data-testid={`run-${r.id}`}>
                    <td className="p-2">
                      {r.judgeName} v{r.judgeVersion}
                    </td>
                    <td className="p-2" data-testid={`run-${r.id}-status`}>
                      <RunStatus run={r} />
                      {r.error ? <div className="max-w-xs text-xs text-red-700">{r.error}</div> : null}
                    </td>
                    <td className="p-2">
                      <progress
                        max={1}
                        value={r.progress}
                        className="h-3 w-32"
                        aria-label={`progress of run ${r.id}`}
                      />
                      <div className="text-xs" data-testid={`run-${r.id}-progress`}>
                        {r.processed} / {r.total}
                        {r.excluded.alreadyJudged
                          ? ` (${r.excluded.alreadyJudged} already judged by this version)`
                          : ""}
                      </div>
                    </td>
                    <td className="p-2" data-testid={`run-${r.id}-done`}>
                      {r.done}
                    </td>
                    <td className="p-2">{r.failed}</td>
                    <td className="p-2">{r.unparseable}</td>
                    <td className="p-2">{r.inconsistent}</td>
                    <td className="p-2">
                      {r.promptTokens.toLocaleString()} / {r.completionTokens.toLocaleString()}
                    </td>
                    <td className="p-2" data-testid={`run-${r.id}-cost`}>
                      {usd(r.costUsd)}
                    </td>
                    <td className="flex flex-wrap gap-2 p-2 text-xs">
                      {r.status === "queued" || r.status === "running" ? (
                        <button
                          className="text-blue-700 underline"
                          onClick={() => pause.mutate({ runId: r.id })}
                          data-testid={`run-${r.id}-pause`}
                        >
                          Pause
                        </button>
                      ) : null}
                      {r.status === "paused" || r.status === "failed" ? (
                        <button
                          className="text-blue-700 underline"
                          onClick={() => resume.mutate({ runId: r.id })}
                          data-testid={`run-${r.id}-resume`}
                        >
                          Resume
                        </button>
                      ) : null}
                      {!["cancelled", "succeeded", "completed_with_errors", "failed"].includes(r.status) ? (
                        <button
                          className="text-red-700 underline"
                          onClick={() => cancel.mutate({ runId: r.id })}
                          data-testid={`run-${r.id}-cancel`}
                        >
                          Cancel
                        </button>
                      ) : null}
                      <button
                        className="text-blue-700 underline"
                        onClick={() => setOpenRun(openRun === r.id ? null : r.id)}
                      >
                        {openRun === r.id ? "Hide" : "Details"}
                      </button>
                    </td>
                  </tr>
                  {openRun === r.id ? (
                    <tr>
                      <td colSpan={10} className="bg-slate-50">
                        <RunProblems runId={r.id} />
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
        {runs.data && runs.data.length === 0 ? <p className="text-sm text-slate-600">No runs yet.</p> : null}
      </section>

      {project ? <JudgeForm project={project} defaultBaseUrl={defaultBaseUrl} onDone={refresh} /> : null}
    </div>
  );
}
