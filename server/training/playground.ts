// The playground: one prompt, two checkpoints, side by side. Runs in the trainer process (the
// web app never loads TensorFlow.js): the web side sends a "training.playground" job and waits
// for its output (playground-queue.ts). Loaded models are kept in a small cache.
import { disposeModel, generate } from "@/trainer";
import { db } from "@/server/db/client";
import { DomainError } from "@/server/errors";
import { env } from "@/server/env";
import { loadModel, type Loaded } from "./models";
import type { PlaygroundInput, PlaygroundOutput } from "./playground-queue";

const cache = new Map<string, Loaded>();
const MAX_LOADED = 4;

async function policyOf(checkpointId: string): Promise<{ name: string; loaded: Loaded }> {
  const c = await db().checkpoint.findUnique({ where: { id: checkpointId } });
  if (!c) throw new DomainError("not_found", `No checkpoint ${checkpointId}.`);
  if (c.kind === "reward")
    throw new DomainError(
      "bad_request",
      `Checkpoint ${c.name} is a reward model; pick a policy or SFT checkpoint.`,
    );
  let loaded = cache.get(c.id);
  if (!loaded) {
    loaded = await loadModel(env().checkpointDir, c, "policy");
    cache.set(c.id, loaded);
    while (cache.size > MAX_LOADED) {
      const [oldest, m] = cache.entries().next().value as [string, Loaded];
      cache.delete(oldest);
      disposeModel(m.model);
    }
  }
  return { name: c.name, loaded };
}

export async function runPlayground(input: PlaygroundInput): Promise<PlaygroundOutput> {
  const prompt = [{ role: "user" as const, content: input.prompt }];
  const out: PlaygroundOutput = { completions: [] };
  for (const id of input.checkpointIds) {
    const { name, loaded } = await policyOf(id);
    const t0 = performance.now();
    const g = await generate(loaded.model, loaded.tokenizer, prompt, {
      maxTokens: input.maxTokens,
      temperature: input.temperature,
      seed: input.seed,
    });
    out.completions.push({
      checkpointId: id,
      name,
      text: g.text,
      tokens: g.completionTokens,
      finishReason: g.finishReason,
      ms: Math.round(performance.now() - t0),
    });
  }
  return out;
}
