// pairwise train <project> [--here] [--wait] [--base-model DIR] | pairwise train list|show|retry|cancel
import path from "node:path";
import { withDatabase } from "@/server/db/connect";
import { db } from "@/server/db/client";
import { getProjectOrThrow } from "@/server/projects/projects";
import { num, println, str, table, UsageError, type Command, type Io } from "../command";

const fmt = (v: unknown, d = 3) => (typeof v === "number" ? v.toFixed(d) : "-");

export const trainCommand: Command = {
  name: "train",
  summary: "Run a training round now (or list, show, retry, cancel rounds)",
  help: `Usage:
  pairwise train <project> [--wait] [--here] [--steps n] [--method dpo|ipo|...|kto|sft|grpo] [--env a,b]
                           [--base-model <folder>|none]
  pairwise train list <project>
  pairwise train show <round-id>
  pairwise train retry <round-id>
  pairwise train cancel <round-id>

A round: snapshot of the pairs -> reward model -> policy (the project's method, DPO by default) ->
evaluation -> gate -> new comparisons from the promoted policy. The first round of a project
also bootstraps a tokenizer and an SFT policy. One round per project at a time: asking while one
is queued or running returns that one.

Options:
      --wait            follow the round's progress until it ends
      --here            run the round in this process (no trainer service needed)
      --steps <n>       policy optimizer steps for this round (overrides the project setting)
      --method <m>      policy method for this round (dpo, ipo, cdpo, robust, hinge, cpo, simpo, orpo, rpo, kto, sft,
                        or grpo: online RL on environments with verifiable rewards)
      --env <a,b>       grpo: the environments to train on (miniR1, sorting, code, tictactoe; default: the task)
      --base-model <d>  save a Hugging Face model folder (gpt2 / llama / qwen2 *ForCausalLM: config.json,
                        safetensors, tokenizer.json) as the project's base model (the setting
                        model.basePath, as on the admin training page); the project's first round
                        starts from it; "none" clears it
      --json            print JSON
  -h, --help            show this help`,
  options: {
    wait: { type: "boolean" },
    here: { type: "boolean" },
    steps: { type: "string" },
    method: { type: "string" },
    env: { type: "string" },
    "base-model": { type: "string" },
    json: { type: "boolean" },
  },
  async run({ values, positionals }, io) {
    const [first, arg] = positionals;
    if (!first) throw new UsageError("give the project's id or slug (or list/show/retry/cancel)");
    return withDatabase(async () => {
      const rounds = await import("@/server/training/rounds");
      if (first === "list") {
        if (!arg) throw new UsageError("give the project's id or slug");
        const p = await getProjectOrThrow(db(), arg);
        const list = await rounds.listRounds(p.id);
        if (values.json) println(io.stdout, JSON.stringify(list, null, 2));
        else if (!list.length)
          println(io.stdout, `No rounds yet: \`pairwise train ${p.slug}\` runs the first.`);
        else
          println(
            io.stdout,
            table([
              ["ROUND", "STATUS", "STAGE", "TRIGGER", "GOLD", "WIN", "KL", "GATE", "ID"],
              ...list.map((r) => {
                const ev = (r.result.evaluate ?? {}) as Record<string, unknown>;
                return [
                  String(r.number),
                  r.status,
                  r.stage,
                  r.trigger,
                  fmt(ev["goldAccuracy"]),
                  fmt(ev["winRate"], 2),
                  fmt(ev["kl"], 2),
                  r.result.gate ? (r.result.gate.passed ? "promoted" : "rejected") : "-",
                  r.id,
                ];
              }),
            ]),
          );
        return 0;
      }
      if (first === "show") {
        if (!arg) throw new UsageError("give the round id");
        println(io.stdout, JSON.stringify(await rounds.getRoundOrThrow(arg), null, 2));
        return 0;
      }
      if (first === "retry" || first === "cancel") {
        if (!arg) throw new UsageError("give the round id");
        if (first === "cancel") {
          const r = await rounds.cancelRound(arg);
          println(
            io.stdout,
            `round ${r.number} cancelled (it stops at its next step; checkpoints written stay)`,
          );
          return 0;
        }
        const r = await rounds.markRoundForRetry(arg);
        const { enqueueRound } = await import("@/server/training/jobs");
        await enqueueRound(r.id);
        println(io.stdout, `round ${r.number} queued again; it resumes at stage ${r.stage}`);
        await (await import("@/server/jobs/boss")).stopBoss();
        return 0;
      }
      const p = await getProjectOrThrow(db(), first);
      const baseModel = str(values["base-model"]);
      if (baseModel) await setBaseModel(p, baseModel, io);
      const overrides: Record<string, unknown> = {};
      const steps = num(values.steps, "steps", { min: 1 });
      if (steps !== undefined) overrides["policy"] = { steps };
      const method = str(values.method);
      if (method) overrides["policy"] = { ...((overrides["policy"] as object) ?? {}), method };
      // GRPO counts its own steps and takes its environments from grpo.*
      const envs = str(values.env);
      if (method === "grpo" && steps !== undefined) overrides["grpo"] = { steps };
      if (envs)
        overrides["grpo"] = {
          ...((overrides["grpo"] as object) ?? {}),
          environments: envs
            .split(",")
            .map((x) => x.trim())
            .filter(Boolean)
            .map((name) => ({ name })),
        };
      const req = {
        projectId: p.id,
        trigger: "manual" as const,
        overrides: Object.keys(overrides).length ? overrides : undefined,
      };
      if (values.here) {
        const { round, created } = await rounds.requestRound(req);
        if (!created)
          println(io.stderr, `round ${round.number} was already ${round.status}; running it here`);
        const { executeRound } = await import("@/server/training/engine");
        println(io.stderr, `round ${round.number} of ${p.slug}: running here`);
        const result = await executeRound(round.id, { log: (m) => println(io.stderr, m) });
        const done = await rounds.getRoundOrThrow(round.id);
        println(
          io.stdout,
          values.json
            ? JSON.stringify(done, null, 2)
            : `round ${done.number}: ${result}${done.error ? ` (${done.error})` : ""}`,
        );
        if (done.result.outcome?.reason) println(io.stderr, done.result.outcome.reason);
        return result === "succeeded" || result === "skipped" ? 0 : 1;
      }
      const { requestAndEnqueue } = await import("@/server/training/jobs");
      const { round, created } = await requestAndEnqueue(req);
      await (await import("@/server/jobs/boss")).stopBoss();
      println(
        io.stdout,
        created
          ? `round ${round.number} of ${p.slug} queued (${round.id})`
          : `round ${round.number} of ${p.slug} is already ${round.status} (${round.id}); not starting another`,
      );
      if (!values.wait) return 0;
      let last = "";
      for (;;) {
        const r = await rounds.getRoundOrThrow(round.id);
        const pr = r.progress;
        const line = `${r.status} · ${r.stage}${pr.step !== undefined ? ` · step ${pr.step}/${pr.totalSteps ?? "?"}` : ""}${pr.tokensPerSecond ? ` · ${pr.tokensPerSecond} tok/s` : ""}${pr.etaSeconds !== undefined ? ` · ETA ${pr.etaSeconds} s` : ""}${pr.message ? ` · ${pr.message}` : ""}`;
        if (line !== last) println(io.stderr, line);
        if (line !== last && r.status === "queued" && Date.now() - r.createdAt.getTime() > 30_000)
          println(io.stderr, "no trainer has taken it yet: is `npm start` (or `pairwise trainer`) running?");
        last = line;
        if (r.status !== "queued" && r.status !== "running") {
          println(
            io.stdout,
            values.json
              ? JSON.stringify(r, null, 2)
              : `round ${r.number}: ${r.status}${r.error ? ` (${r.error})` : ""}${r.result.outcome?.reason ? ` — ${r.result.outcome.reason}` : ""}`,
          );
          return r.status === "succeeded" || r.status === "skipped" ? 0 : 1;
        }
        await new Promise((res) => setTimeout(res, 1000));
      }
    });
  },
};

/**
 * Checks a base model folder where the CLI runs (the trainer reads the same path: give one that
 * the trainer's machine has too) and saves it as the project's model.basePath.
 */
async function setBaseModel(p: { id: string; slug: string }, folder: string, io: Io): Promise<void> {
  const { updateTrainingSettings } = await import("@/server/training/rounds");
  if (folder === "none") {
    await updateTrainingSettings(p.id, { model: { basePath: null } });
    println(io.stderr, `${p.slug}: no base model (its first round creates a new Pairwise GPT)`);
    return;
  }
  const abs = path.resolve(folder);
  const { describeModelFolder } = await import("@/trainer");
  let info: Awaited<ReturnType<typeof describeModelFolder>>;
  try {
    info = await describeModelFolder(abs);
  } catch (e) {
    throw new UsageError(`--base-model: ${(e as Error).message}`);
  }
  if (info.kind !== "policy")
    throw new UsageError(
      `--base-model: ${abs} holds a reward model (${info.architecture}); give a language model folder (*ForCausalLM)`,
    );
  await updateTrainingSettings(p.id, { model: { basePath: abs } });
  println(
    io.stderr,
    `${p.slug}: base model ${info.architecture}, ${info.parameters.toLocaleString("en-US")} parameters, ${info.dtype} (${abs})`,
  );
  const policy = await db().checkpoint.findFirst({
    where: { projectId: p.id, kind: { in: ["sft", "policy"] } },
    select: { name: true },
  });
  if (policy)
    println(
      io.stderr,
      `note: ${p.slug} has a policy already (${policy.name}); rounds continue from it, and only a project's first round starts from the base model: create a new project to start over from it`,
    );
}
