// The training page: run rounds, follow them live (stage, step, tokens/s, ETA), compare rounds
// (gold reward, reward-model accuracy, win rate, KL), read per-step curves, walk the checkpoint
// lineage, set the schedule and unattended labeling, and try two checkpoints side by side.
"use client";
import { useMemo, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC, type RouterOutputs } from "@/components/trpc";
import { LineChart, type ChartSeries } from "@/components/charts/line-chart";
import { plural } from "@/components/plural";
import { errorMessage } from "@/components/annotate/errors";
import { EnvScores } from "./training-env-scores";
import { Rollouts } from "./training-rollouts";
import { POLICY_METHODS } from "@/server/training/settings";
import { StageSummaries } from "./training-stages";

type Overview = RouterOutputs["training"]["overview"];
type Round = Overview["rounds"][number];
type Ck = Overview["checkpoints"][number];
type Settings = NonNullable<Overview["settings"]>;

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"];
const f = (v: unknown, d = 3) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(d) : "–");
const dur = (s: number) =>
  s >= 3600
    ? `${(s / 3600).toFixed(1)} h`
    : s >= 60
      ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`
      : `${Math.round(s)} s`;

const statusColor: Record<string, string> = {
  queued: "bg-slate-100 text-slate-700",
  running: "bg-blue-100 text-blue-800",
  succeeded: "bg-green-100 text-green-800",
  failed: "bg-red-100 text-red-800",
  cancelled: "bg-amber-100 text-amber-800",
};

function Badge({ status }: { status: string }) {
  return (
    <span className={`rounded px-1.5 py-0.5 text-xs font-medium ${statusColor[status] ?? "bg-slate-100"}`}>
      {status}
    </span>
  );
}

export function TrainingAdmin({ initialProject }: { initialProject: string }) {
  const trpc = useTRPC();
  const projects = useQuery(trpc.training.projects.queryOptions());
  const [project, setProject] = useState(initialProject);
  const chosen =
    project || projects.data?.find((p) => p.slug === "mini-r1")?.id || projects.data?.[0]?.id || "";
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-semibold">Training</h1>
        <label className="text-sm">
          Project{" "}
          <select
            className="rounded border px-2 py-1"
            value={chosen}
            onChange={(e) => setProject(e.target.value)}
            data-testid="training-project"
          >
            {(projects.data ?? []).map((p) => (
              <option key={p.id} value={p.id}>
                {p.name} ({p.slug})
              </option>
            ))}
          </select>
        </label>
      </div>
      {chosen ? <ProjectTraining project={chosen} /> : <p className="text-slate-600">No project yet.</p>}
    </div>
  );
}

function ProjectTraining({ project }: { project: string }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const overview = useQuery({
    ...trpc.training.overview.queryOptions({ project }),
    refetchInterval: (q) =>
      q.state.data?.rounds.some((r) => r.status === "queued" || r.status === "running") ? 2000 : 10000,
  });
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.training.overview.queryKey() });
  const preflight = useQuery(trpc.training.preflight.queryOptions({ project }));
  const runNow = useMutation(
    trpc.training.runNow.mutationOptions({
      onSuccess: refresh,
      onSettled: () => void qc.invalidateQueries({ queryKey: trpc.training.preflight.queryKey() }),
    }),
  );
  const retry = useMutation(trpc.training.retry.mutationOptions({ onSuccess: refresh }));
  const cancel = useMutation(trpc.training.cancel.mutationOptions({ onSuccess: refresh }));
  const [selected, setSelected] = useState<string | null>(null);
  const o = overview.data;
  if (overview.error) return <p className="text-red-700">{overview.error.message}</p>;
  if (!o) return <p className="text-slate-600">Loading…</p>;
  const active = o.rounds.find((r) => r.status === "queued" || r.status === "running");
  const roundId = selected ?? o.rounds[0]?.id ?? null;
  const perRound = o.perRound;
  const ser = (
    name: string,
    color: string,
    key: keyof (typeof perRound)[number],
    dashed = false,
  ): ChartSeries => ({
    name,
    color,
    dashed,
    points: perRound
      .filter((r) => typeof r[key] === "number")
      .map((r) => ({ x: r.round, y: r[key] as number })),
  });

  return (
    <div className="space-y-6">
      <section
        className="flex flex-wrap items-center gap-4 rounded border bg-white p-3 text-sm"
        data-testid="training-summary"
      >
        <button
          className="rounded bg-blue-700 px-3 py-1.5 font-medium text-white hover:bg-blue-800 disabled:opacity-50"
          onClick={() => runNow.mutate({ projectId: o.project.id })}
          disabled={runNow.isPending || !!active || !!preflight.data?.refusal}
          aria-describedby="round-plan"
          data-testid="run-now"
        >
          {active ? `Round ${active.number} is ${active.status}` : "Run a round now"}
        </button>
        <span>
          <b>{plural(o.pairs, "preference pair")}</b>, <b data-testid="new-pairs">{o.newPairs}</b> new since
          the last round
        </span>
        <span>
          Schedule: {o.settings?.schedule.cron ? <code>{o.settings.schedule.cron}</code> : "none"}
          {o.nextCronAt
            ? ` (next ${new Date(o.nextCronAt).toISOString().replace("T", " ").slice(0, 16)} UTC)`
            : ""}
          {o.settings?.schedule.minNewPairs ? `; also at ${o.settings.schedule.minNewPairs} new pairs` : ""}
        </span>
        <span data-testid="training-model">
          Model:{" "}
          {o.model.info ? (
            <>
              <b>{o.model.info.architecture}</b>, {formatParams(o.model.info.parameters)} parameters,{" "}
              {o.model.info.dtype} weights
            </>
          ) : o.model.basePath ? (
            "loaded at the first round"
          ) : (
            "a new Pairwise GPT (created at the first round)"
          )}
          {o.model.basePath ? (
            <>
              {" "}
              from <code>{o.model.basePath}</code>
            </>
          ) : null}
        </span>
        {runNow.data && !runNow.data.created && (
          <span className="text-amber-700">
            A round was already {runNow.data.round.status}: no second one started.
          </span>
        )}
        {runNow.error && (
          <span role="alert" className="text-red-700" data-testid="run-now-error">
            {errorMessage(runNow.error)}
          </span>
        )}
        {o.settingsError && <span className="text-red-700">{o.settingsError}</span>}
        {!active && preflight.data && <RoundPlan pre={preflight.data} />}
      </section>

      {active && <LiveProgress round={active} />}

      <section>
        <h2 className="mb-2 text-lg font-semibold">Rounds</h2>
        <div className="overflow-x-auto">
          <table className="w-full border-collapse bg-white text-sm" data-testid="rounds-table">
            <thead>
              <tr className="border-b text-left text-xs uppercase text-slate-500">
                <th className="p-2">#</th>
                <th className="p-2">Status</th>
                <th className="p-2">Stage</th>
                <th className="p-2">Trigger</th>
                <th className="p-2">Gold acc.</th>
                <th className="p-2">RM val. acc.</th>
                <th className="p-2">Win rate</th>
                <th className="p-2">KL</th>
                <th className="p-2">Gate</th>
                <th className="p-2">Time</th>
                <th className="p-2"></th>
              </tr>
            </thead>
            <tbody>
              {o.rounds.map((r) => {
                const ev = (r.result.evaluate ?? {}) as Record<string, unknown>;
                const rw = (r.result.reward ?? {}) as Record<string, unknown>;
                const secs = Object.values(r.result.seconds ?? {}).reduce((a, b) => a + b, 0);
                return (
                  <tr
                    key={r.id}
                    className={`border-b align-top ${r.id === roundId ? "bg-blue-50" : ""}`}
                    data-testid={`round-${r.number}`}
                  >
                    <td className="p-2 font-medium">{r.number}</td>
                    <td className="p-2">
                      <Badge status={r.status} />
                      {typeof r.result.policy?.["skipped"] === "string" && (
                        <div
                          className="mt-0.5 max-w-48 text-xs text-amber-800"
                          data-testid={`round-${r.number}-skipped`}
                        >
                          no reward or policy training: {r.result.policy["skipped"]}
                        </div>
                      )}
                      {r.attempts > 1 && (
                        <span className="ml-1 text-xs text-slate-500">resumed ×{r.attempts - 1}</span>
                      )}
                    </td>
                    <td className="p-2">{r.stage}</td>
                    <td className="p-2">{r.trigger}</td>
                    <td className="p-2">{f(ev["goldAccuracy"])}</td>
                    <td className="p-2">
                      {f(rw["valAccuracy"])}
                      {typeof rw["prevValAccuracy"] === "number" && (
                        <span className="text-xs text-slate-500"> (prev. {f(rw["prevValAccuracy"])})</span>
                      )}
                    </td>
                    <td className="p-2">{f(ev["winRate"], 2)}</td>
                    <td className="p-2">{f(ev["kl"], 2)}</td>
                    <td
                      className="p-2 text-xs"
                      title={r.result.gate?.reason}
                      data-testid={`round-${r.number}-gate`}
                    >
                      <GateCell round={r} />
                    </td>
                    <td className="p-2 text-xs">{secs ? dur(secs) : "–"}</td>
                    <td className="space-x-2 p-2 text-xs whitespace-nowrap">
                      <button className="text-blue-700 underline" onClick={() => setSelected(r.id)}>
                        details
                      </button>
                      {(r.status === "failed" || r.status === "cancelled") && (
                        <button
                          className="text-blue-700 underline"
                          onClick={() => retry.mutate({ id: r.id })}
                          data-testid={`retry-${r.number}`}
                        >
                          retry
                        </button>
                      )}
                      {(r.status === "queued" || r.status === "running") && (
                        <button
                          className="text-red-700 underline"
                          onClick={() => cancel.mutate({ id: r.id })}
                        >
                          cancel
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
              {!o.rounds.length && (
                <tr>
                  <td colSpan={11} className="p-3 text-slate-600">
                    No rounds yet. The first round bootstraps a tokenizer and an SFT policy, then trains on
                    the pairs there are.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
        {o.rounds
          .filter((r) => r.status === "failed")
          .slice(0, 3)
          .map((r) => (
            <p
              key={r.id}
              className="mt-2 rounded border border-red-200 bg-red-50 p-2 text-sm text-red-800"
              data-testid={`round-error-${r.number}`}
            >
              Round {r.number} failed at stage <b>{r.stage}</b>: {r.error}
            </p>
          ))}
        {retry.error && <p className="text-sm text-red-700">{retry.error.message}</p>}
      </section>

      <section>
        <h2 className="mb-2 text-lg font-semibold">Per round</h2>
        <div className="grid gap-3 md:grid-cols-2 xl:grid-cols-4">
          <LineChart
            testId="chart-gold"
            title="Gold reward / accuracy (held-out)"
            xLabel="round"
            yMin={0}
            yMax={1}
            series={[
              ser("gold accuracy", COLORS[0]!, "goldAccuracy"),
              ser("gold reward", COLORS[1]!, "goldReward", true),
            ]}
          />
          <LineChart
            title="Reward model validation accuracy"
            xLabel="round"
            yMin={0}
            yMax={1}
            series={[ser("RM val. accuracy", COLORS[2]!, "rmValAccuracy")]}
          />
          <LineChart
            title="Win rate over the previous policy"
            xLabel="round"
            yMin={0}
            yMax={1}
            series={[ser("win rate (RM)", COLORS[3]!, "winRate")]}
          />
          <LineChart
            title="KL to the reference (nats)"
            xLabel="round"
            series={[ser("KL", COLORS[4]!, "kl")]}
          />
        </div>
      </section>

      <EnvScores perRound={perRound} />
      {roundId && <RoundDetail id={roundId} />}
      <Lineage checkpoints={o.checkpoints} />
      <Playground checkpoints={o.checkpoints.filter((c) => c.kind !== "reward")} />
      {o.settings && (
        <SettingsForm
          projectId={o.project.id}
          settings={o.settings}
          aiCounts={o.project.aiCountsTowardConsensus}
          overlap={o.project.overlap}
          onSaved={refresh}
        />
      )}
    </div>
  );
}

/** What a round started now would do, and why pairs are missing: said before the admin clicks. */
function RoundPlan({ pre }: { pre: RouterOutputs["training"]["preflight"] }) {
  return (
    <div
      id="round-plan"
      className={`w-full rounded border p-2 ${pre.refusal ? "border-amber-300 bg-amber-50" : "border-slate-200 bg-slate-50"}`}
      data-testid="round-plan"
    >
      {pre.refusal ? (
        <p className="font-medium text-amber-900" data-testid="round-refusal">
          No round now: only {plural(pre.trainPairs, "train pair")} (at least {pre.minTrainPairs} needed), and
          the project has a policy already, so a round would train nothing.
        </p>
      ) : (
        <>
          <p className="font-medium">A round started now will:</p>
          <ol className="ml-5 list-decimal">
            {pre.plan.map((step) => (
              <li key={step}>{step}</li>
            ))}
          </ol>
        </>
      )}
      {pre.missing.length > 0 && (
        <>
          <p className="mt-1 font-medium">Why there are not more pairs:</p>
          <ul className="ml-5 list-disc" data-testid="round-missing">
            {pre.missing.map((m) => (
              <li key={m}>{m}</li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

/**
 * The gate's decision in the words the lineage uses: a round that trained no policy kept the
 * one in use (its gate did not reject anything).
 */
function GateCell({ round }: { round: Round }) {
  const g = round.result.gate;
  if (!g) return <>–</>;
  if (g.passed) return <span className="text-green-700">promoted</span>;
  if (g.checkpointId) return <span className="text-amber-700">rejected</span>;
  return <span className="text-slate-600">no new policy</span>;
}

function LiveProgress({ round }: { round: Round }) {
  const p = round.progress;
  const pct = p.step !== undefined && p.totalSteps ? Math.min(100, (100 * p.step) / p.totalSteps) : null;
  return (
    <section className="rounded border border-blue-200 bg-blue-50 p-3 text-sm" data-testid="live-progress">
      <div className="flex flex-wrap gap-4">
        <span>
          Round <b>{round.number}</b> · <Badge status={round.status} /> · stage{" "}
          <b data-testid="live-stage">{round.stage}</b>
        </span>
        {p.step !== undefined && (
          <span>
            step {p.step}
            {p.totalSteps ? ` / ${p.totalSteps}` : ""}
          </span>
        )}
        {p.tokensPerSecond !== undefined && <span>{p.tokensPerSecond} tokens/s</span>}
        {p.etaSeconds !== undefined && <span>ETA {dur(p.etaSeconds)}</span>}
        {p.message && <span className="text-slate-600">{p.message}</span>}
        {round.status === "queued" && !round.leaseOwner && (
          <span className="text-amber-700">
            waiting for a trainer (npm start runs one; or `pairwise trainer`)
          </span>
        )}
      </div>
      {pct !== null && (
        <div
          className="mt-2 h-2 w-full overflow-hidden rounded bg-blue-100"
          role="progressbar"
          aria-valuenow={Math.round(pct)}
          aria-valuemin={0}
          aria-valuemax={100}
        >
          <div className="h-2 bg-blue-600" style={{ width: `${pct}%` }} />
        </div>
      )}
    </section>
  );
}

function RoundDetail({ id }: { id: string }) {
  const trpc = useTRPC();
  const q = useQuery({
    ...trpc.training.round.queryOptions({ id }),
    refetchInterval: (s) =>
      s.state.data && (s.state.data.round.status === "running" || s.state.data.round.status === "queued")
        ? 2000
        : false,
  });
  const d = q.data;
  const series = useMemo(() => {
    const by = (stage: string, names: string[]): ChartSeries[] =>
      names
        .map((n, i) => ({
          name: n,
          color: COLORS[i % COLORS.length]!,
          points: (d?.metrics.find((m) => m.stage === stage && m.name === n)?.points ?? []).map((p) => ({
            x: p.step,
            y: p.value,
          })),
        }))
        .filter((s) => s.points.length);
    return {
      sft: by("bootstrap", ["loss"]),
      rmLoss: by("reward", ["loss", "accuracy"]),
      rmMargin: by("reward", ["margin"]),
      polLoss: by("policy", ["loss", "rewards/accuracies"]),
      polMargins: by("policy", ["rewards/margins", "rewards/chosen", "rewards/rejected"]),
      logps: by("policy", ["logps/chosen", "logps/rejected"]),
      grpoReward: by("policy", ["reward", "accuracy"]),
      grpoKl: by("policy", ["kl"]),
      grpoLength: by("policy", ["completions/mean_length"]),
    };
  }, [d]);
  if (!d) return null;
  const r = d.round;
  return (
    <section data-testid="round-detail">
      <h2 className="mb-2 text-lg font-semibold">Round {r.number}: per step</h2>
      <div className="grid gap-3 md:grid-cols-2 xl:grid-cols-3">
        {series.sft.length > 0 && <LineChart title="Bootstrap SFT loss" xLabel="step" series={series.sft} />}
        <LineChart title="Reward model: loss, accuracy" xLabel="step" series={series.rmLoss} />
        <LineChart title="Reward model: margin" xLabel="step" series={series.rmMargin} />
        <LineChart
          testId="chart-policy-loss"
          title="Policy: loss, rewards/accuracies"
          xLabel="step"
          series={series.polLoss}
        />
        <LineChart
          title="Policy: rewards/margins, chosen, rejected"
          xLabel="step"
          series={series.polMargins}
        />
        <LineChart title="Policy: logps/chosen, logps/rejected" xLabel="step" series={series.logps} />
        {series.grpoReward.length > 0 && (
          <>
            <LineChart
              testId="chart-grpo-reward"
              title="GRPO: reward, accuracy"
              xLabel="step"
              series={series.grpoReward}
            />
            <LineChart title="GRPO: KL to the reference" xLabel="step" series={series.grpoKl} />
            <LineChart title="GRPO: completion length (tokens)" xLabel="step" series={series.grpoLength} />
          </>
        )}
      </div>
      {series.grpoReward.length > 0 && <Rollouts roundId={r.id} />}
      <StageSummaries result={r.result} duration={dur} />
    </section>
  );
}

function Lineage({ checkpoints }: { checkpoints: Ck[] }) {
  const trpc = useTRPC();
  const [prov, setProv] = useState<string | null>(null);
  const provenance = useQuery({
    ...trpc.training.provenance.queryOptions({ checkpointId: prov ?? "" }),
    enabled: !!prov,
  });
  const depth = new Map<string, number>();
  const byId = new Map(checkpoints.map((c) => [c.id, c]));
  const d = (c: Ck): number => {
    if (depth.has(c.id)) return depth.get(c.id)!;
    const parent = c.parentId ? byId.get(c.parentId) : undefined;
    const v = parent && parent.id !== c.id ? d(parent) + 1 : 0;
    depth.set(c.id, v);
    return v;
  };
  // The policy in use: the newest promoted one (the trainer's currentPolicy).
  const inUse = checkpoints
    .filter((c) => c.promoted && (c.kind === "policy" || c.kind === "sft"))
    .reduce<Ck | null>((a, c) => (!a || new Date(c.createdAt) >= new Date(a.createdAt) ? c : a), null);
  return (
    <section>
      <h2 className="mb-2 text-lg font-semibold">Checkpoint lineage</h2>
      <ul className="space-y-1 rounded border bg-white p-2 text-sm" data-testid="lineage">
        {checkpoints.map((c) => {
          const ev = (c.metrics["eval"] ?? {}) as Record<string, unknown>;
          return (
            <li
              key={c.id}
              style={{ paddingLeft: `${d(c) * 18}px` }}
              className="flex flex-wrap items-baseline gap-2"
            >
              <span className="text-slate-400">{d(c) ? "└" : "●"}</span>
              <b>{c.name}</b>
              <span className="rounded bg-slate-100 px-1 text-xs">{c.kind}</span>
              {c.kind === "sft" && c.promoted && (
                <span className="text-xs text-green-700">first policy (bootstrap)</span>
              )}
              {c.kind === "policy" &&
                (c.promoted ? (
                  <span className="text-xs text-green-700">
                    promoted by round {c.roundNumber ?? "?"}&apos;s gate
                  </span>
                ) : c.gateReason ? (
                  <span className="text-xs text-amber-700">rejected by the gate</span>
                ) : (
                  <span className="text-xs text-slate-500">not gated yet</span>
                ))}
              {c.id === inUse?.id && (
                <span
                  className="rounded bg-green-100 px-1 text-xs text-green-800"
                  data-testid="lineage-in-use"
                >
                  in use
                </span>
              )}
              {typeof ev["goldAccuracy"] === "number" && (
                <span className="text-xs text-slate-600">gold acc. {f(ev["goldAccuracy"])}</span>
              )}
              {c.gateReason && c.kind === "policy" && (
                <span className="text-xs text-slate-500">{c.gateReason}</span>
              )}
              {c.snapshotId && (
                <button className="text-xs text-blue-700 underline" onClick={() => setProv(c.id)}>
                  data
                </button>
              )}
            </li>
          );
        })}
        {!checkpoints.length && <li className="text-slate-500">No checkpoints yet.</li>}
      </ul>
      {prov && provenance.data && (
        <div className="mt-2 rounded border bg-white p-2 text-sm" data-testid="provenance">
          <p>
            <b>{provenance.data.checkpoint.name}</b> was trained on snapshot{" "}
            <code>{provenance.data.snapshot?.id}</code> ({provenance.data.snapshot?.pairCount} pairs, sha256{" "}
            <code>{provenance.data.snapshot?.hash.slice(0, 16)}…</code>), from judgments by:
          </p>
          <ul className="ml-4 list-disc">
            {provenance.data.judgments.map((j) => (
              <li key={`${j.source}-${j.by}`}>
                {j.by} ({j.source}): {j.count}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}

function Playground({ checkpoints }: { checkpoints: Ck[] }) {
  const trpc = useTRPC();
  const gen = useMutation(trpc.training.playground.mutationOptions());
  const [prompt, setPrompt] = useState(
    "Ana has 5 apples. Ana buys 3 more. How many apples does Ana have now?",
  );
  const [a, setA] = useState("");
  const [b, setB] = useState("");
  const [temperature, setTemperature] = useState(0);
  const last = checkpoints[checkpoints.length - 1]?.id ?? "";
  const first = checkpoints[0]?.id ?? "";
  const ids = [a || first, b || last].filter(Boolean);
  return (
    <section>
      <h2 className="mb-2 text-lg font-semibold">Playground</h2>
      <div className="space-y-2 rounded border bg-white p-3 text-sm">
        <textarea
          className="w-full rounded border p-2"
          rows={2}
          value={prompt}
          onChange={(e) => setPrompt(e.target.value)}
          aria-label="Prompt"
          data-testid="playground-prompt"
        />
        <div className="flex flex-wrap items-center gap-3">
          {[
            [a || first, setA, "A"],
            [b || last, setB, "B"],
          ].map(([v, set, label]) => (
            <label key={label as string}>
              {label as string}{" "}
              <select
                className="rounded border px-2 py-1"
                value={v as string}
                onChange={(e) => (set as (s: string) => void)(e.target.value)}
              >
                {checkpoints.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
            </label>
          ))}
          <label>
            temperature{" "}
            <input
              type="number"
              min={0}
              max={2}
              step={0.1}
              className="w-16 rounded border px-1"
              value={temperature}
              onChange={(e) => setTemperature(Number(e.target.value))}
            />
          </label>
          <button
            className="rounded bg-slate-800 px-3 py-1 text-white disabled:opacity-50"
            disabled={!ids.length || gen.isPending}
            onClick={() => gen.mutate({ prompt, checkpointIds: ids, temperature, maxTokens: 64, seed: 0 })}
            data-testid="playground-generate"
          >
            {gen.isPending ? "Generating…" : "Generate"}
          </button>
        </div>
        {gen.error && <p className="text-red-700">{gen.error.message}</p>}
        {gen.data && (
          <div className="grid gap-3 md:grid-cols-2" data-testid="playground-output">
            {gen.data.completions.map((c, i) => (
              <div key={`${c.checkpointId}-${i}`} className="rounded border p-2">
                <div className="mb-1 text-xs text-slate-500">
                  {c.name} · {c.tokens} tokens · {c.ms} ms · {c.finishReason}
                </div>
                <pre className="font-mono text-xs whitespace-pre-wrap">{c.text}</pre>
              </div>
            ))}
          </div>
        )}
      </div>
    </section>
  );
}

function formatParams(n: number): string {
  return n >= 1e9
    ? `${(n / 1e9).toFixed(2)}B`
    : n >= 1e6
      ? `${(n / 1e6).toFixed(1)}M`
      : `${(n / 1e3).toFixed(1)}K`;
}

function SettingsForm({
  projectId,
  settings,
  aiCounts,
  overlap,
  onSaved,
}: {
  projectId: string;
  settings: Settings;
  aiCounts: boolean;
  overlap: number;
  onSaved: () => void;
}) {
  const trpc = useTRPC();
  const save = useMutation(trpc.training.updateSettings.mutationOptions({ onSuccess: onSaved }));
  const [s, setS] = useState({
    method: settings.policy.method,
    reference: settings.policy.reference,
    beta: String(settings.policy.beta),
    steps: String(settings.policy.steps),
    grpoEnvs: settings.grpo.environments.map((e) => e.name).join(", "),
    grpoSteps: String(settings.grpo.steps),
    cron: settings.schedule.cron ?? "",
    minNewPairs: settings.schedule.minNewPairs ? String(settings.schedule.minNewPairs) : "",
    minWinRate: settings.gate.minWinRate === null ? "" : String(settings.gate.minWinRate),
    maxKl: settings.gate.maxKl === null ? "" : String(settings.gate.maxKl),
    ruleJudge: settings.labeling.ruleJudge,
    simulated: String(settings.labeling.simulatedAnnotators),
    noise: String(settings.labeling.noise),
    basePath: settings.model.basePath ?? "",
  });
  const opt = (v: string) => (v.trim() === "" ? null : Number(v));
  const submit = () =>
    save.mutate({
      projectId,
      patch: {
        policy: { method: s.method, reference: s.reference, beta: Number(s.beta), steps: Number(s.steps) },
        grpo: {
          environments: s.grpoEnvs
            .split(",")
            .map((x) => x.trim())
            .filter(Boolean)
            .map((name) => ({ name })),
          steps: Number(s.grpoSteps),
        },
        schedule: { cron: s.cron.trim() || null, minNewPairs: opt(s.minNewPairs) },
        gate: { minWinRate: opt(s.minWinRate), maxKl: opt(s.maxKl) },
        labeling: {
          ruleJudge: s.ruleJudge,
          simulatedAnnotators: Number(s.simulated),
          noise: Number(s.noise),
        },
        model: { basePath: s.basePath.trim() || null },
      },
    });
  const field = (label: string, key: keyof typeof s, extra: Record<string, unknown> = {}) => (
    <label className="flex flex-col text-xs">
      {label}
      <input
        className="rounded border px-2 py-1 text-sm"
        value={s[key] as string}
        onChange={(e) => setS({ ...s, [key]: e.target.value })}
        {...extra}
      />
    </label>
  );
  return (
    <section>
      <h2 className="mb-2 text-lg font-semibold">Settings</h2>
      <div className="grid gap-3 rounded border bg-white p-3 md:grid-cols-4" data-testid="training-settings">
        <label className="flex flex-col text-xs">
          Policy method
          <select
            className="rounded border px-2 py-1 text-sm"
            value={s.method}
            onChange={(e) => setS({ ...s, method: e.target.value as Settings["policy"]["method"] })}
          >
            {POLICY_METHODS.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
        <label className="flex flex-col text-xs">
          Reference
          <select
            className="rounded border px-2 py-1 text-sm"
            value={s.reference}
            onChange={(e) => setS({ ...s, reference: e.target.value as Settings["policy"]["reference"] })}
          >
            <option value="previous">previous policy</option>
            <option value="sft">SFT checkpoint</option>
          </select>
        </label>
        {field("β", "beta")}
        {field("Policy steps (max)", "steps")}
        {s.method === "grpo" &&
          field("GRPO environments (miniR1, sorting, code, tictactoe)", "grpoEnvs", {
            placeholder: "the task",
          })}
        {s.method === "grpo" && field("GRPO steps", "grpoSteps")}
        {field("Cron (UTC), e.g. 0 3 * * *", "cron", { placeholder: "none" })}
        {field("Run at N new pairs", "minNewPairs", { placeholder: "off" })}
        {field("Gate: min. win rate", "minWinRate", { placeholder: "off" })}
        {field("Gate: max. KL", "maxKl", { placeholder: "off" })}
        <label className="flex items-center gap-2 text-xs">
          <input
            type="checkbox"
            checked={s.ruleJudge}
            onChange={(e) => setS({ ...s, ruleJudge: e.target.checked })}
          />{" "}
          Rule judge labels new comparisons
        </label>
        {field("Simulated annotators", "simulated")}
        {field("Base model folder (Hugging Face gpt2 / llama / qwen2)", "basePath", {
          placeholder: "none: a new Pairwise GPT",
          "data-testid": "base-model-path",
        })}
        {field("Their noise (flip prob.)", "noise")}
        <div className="flex items-end">
          <button
            className="rounded bg-blue-700 px-3 py-1.5 text-sm text-white disabled:opacity-50"
            disabled={save.isPending}
            onClick={submit}
          >
            Save
          </button>
        </div>
        {s.ruleJudge && !aiCounts && Number(s.simulated) < overlap && (
          <p className="text-xs text-amber-700 md:col-span-4">
            This project does not count AI judgments toward consensus, so the rule judge alone makes no pairs:
            add {overlap} simulated annotators, or let AI judgments count (project settings).
          </p>
        )}
        {save.error && <p className="text-xs text-red-700 md:col-span-4">{save.error.message}</p>}
        {save.isSuccess && <p className="text-xs text-green-700 md:col-span-4">Saved.</p>}
      </div>
    </section>
  );
}
