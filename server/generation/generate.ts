// Generation: prompts × models -> completions with provenance -> comparisons for annotators.
// This is how a new policy's outputs reach people (and AI judges): the training loop calls
// generateComparisons after a round, an admin can queue it as a job (jobs.ts).
//
// Models are either our checkpoints, run in this process through the trainer, or any
// OpenAI-compatible endpoint (pairwise serve, vLLM, Ollama, OpenAI...). Every completion records
// where it came from: modelName, checkpointId, samplingParams (with the seed that reproduces it).
// Writes are idempotent: a completion is unique per (prompt, text) and a comparison per
// (project, content hash), so running the same generation twice adds nothing new.
import { Prisma } from "@prisma/client";
import type { z } from "zod";
import {
  GenerateComparisonsInput,
  type CheckpointSource,
  type EndpointSource,
  type Sampling,
} from "./schema";
import {
  disposeModel,
  generate,
  loadCheckpoint,
  type BpeTokenizer,
  type ChatMessage,
  type GPTModel,
} from "@/trainer";
import { db } from "../db/client";
import { DomainError } from "../errors";
import { completionHash, comparisonHash } from "../data/hash";
import { newId } from "../data/ids";
import { parseLabelSchema } from "../projects/schema";
import { promptMessages, storableText } from "../judges/content";
import { resolveCheckpointPath } from "../judges/kinds";
import { chatCompletion, EndpointError, withRetries, type RetryPolicy } from "../judges/openai-client";

export { Sampling, EndpointSource, CheckpointSource, GenerateComparisonsInput } from "./schema";

export interface GenerationFailure {
  promptId: string;
  model: string;
  error: string;
}

export interface GenerateComparisonsResult {
  prompts: number;
  completionsCreated: number;
  completionsExisting: number;
  comparisonsCreated: number;
  comparisonsExisting: number;
  failures: GenerationFailure[];
  promptTokens: number;
  completionTokens: number;
}

interface Generated {
  text: string;
  modelName: string;
  checkpointId: string | null;
  samplingParams: Record<string, unknown>;
  metadata: Record<string, unknown>;
  source: string; // one per model, for cross-model pairing
}

interface Generator {
  name: string;
  generate(
    prompt: { text: string | null; messages: unknown },
    i: number,
    signal?: AbortSignal,
  ): Promise<Omit<Generated, "source">>;
  close(): void;
}

function endpointGenerator(e: EndpointSource, s: Sampling, retry?: Partial<RetryPolicy>): Generator {
  const name = e.name ?? e.model;
  return {
    name,
    async generate(prompt, i, signal) {
      const seed = s.seed + i;
      const r = await withRetries(
        () =>
          chatCompletion({
            baseUrl: e.baseUrl,
            apiKey: e.apiKey,
            model: e.model,
            messages: promptMessages({ ...prompt, metadata: {} }),
            temperature: s.temperature,
            topP: s.topP,
            maxTokens: s.maxTokens,
            stop: s.stop,
            seed,
            timeoutMs: e.timeoutMs,
            signal,
          }),
        { policy: retry, signal },
      );
      const c = r.choices[0];
      if (!c || c.text === null)
        throw new EndpointError("bad_response", "the endpoint returned no message content", {
          retryable: false,
        });
      return {
        text: c.text,
        modelName: name,
        checkpointId: null,
        samplingParams: {
          temperature: s.temperature,
          top_p: s.topP,
          max_tokens: s.maxTokens,
          stop: s.stop,
          seed,
          endpoint: e.baseUrl,
          model: e.model,
        },
        metadata: {
          generatedBy: "generation",
          finishReason: c.finishReason,
          usage: r.usage,
          latencyMs: r.latencyMs,
          servedModel: r.model,
        },
      };
    },
    close() {},
  };
}

async function checkpointGenerator(src: CheckpointSource, s: Sampling): Promise<Generator> {
  let dir: string;
  let name: string;
  let checkpointId: string | null = null;
  if ("checkpointId" in src) {
    const ck = await db().checkpoint.findUnique({ where: { id: src.checkpointId } });
    if (!ck) throw new DomainError("not_found", `No checkpoint ${src.checkpointId}.`);
    if (ck.kind === "reward")
      throw new DomainError(
        "bad_request",
        `Checkpoint "${ck.name}" is a reward model; generation needs a policy (or SFT) checkpoint.`,
      );
    dir = resolveCheckpointPath(ck.path);
    name = ck.name;
    checkpointId = ck.id;
  } else {
    dir = src.checkpointPath;
    name = src.name;
  }
  let model: GPTModel;
  let tokenizer: BpeTokenizer;
  try {
    const loaded = await loadCheckpoint(dir);
    if (loaded.kind !== "policy") throw new Error(`it holds a ${loaded.kind} model`);
    model = loaded.model;
    tokenizer = loaded.tokenizer;
  } catch (e) {
    throw new DomainError(
      "bad_request",
      `Could not load checkpoint "${name}" from ${dir}: ${(e as Error).message}`,
    );
  }
  return {
    name,
    async generate(prompt, i) {
      const seed = s.seed + i;
      const input: string | ChatMessage[] = Array.isArray(prompt.messages)
        ? (promptMessages({ ...prompt, metadata: {} }) as ChatMessage[])
        : (prompt.text ?? "");
      const r = await generate(model, tokenizer, input, {
        maxTokens: s.maxTokens,
        temperature: s.temperature,
        topP: s.topP,
        stop: s.stop,
        seed,
        skipSpecialTokens: true, // as pairwise serve does: the same weights write the same text
      });
      return {
        text: r.text,
        modelName: name,
        checkpointId,
        samplingParams: {
          temperature: s.temperature,
          top_p: s.topP,
          max_tokens: s.maxTokens,
          stop: s.stop,
          seed,
        },
        metadata: {
          generatedBy: "generation",
          finishReason: r.finishReason,
          usage: { promptTokens: r.promptTokens, completionTokens: r.completionTokens },
        },
      };
    },
    close() {
      disposeModel(model);
    },
  };
}

/** Pairs of indices to compare, at most `max`, spread over the list. */
export function choosePairs(
  sources: readonly string[],
  pairing: "all" | "cross-model",
  max: number,
): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < sources.length; i++) {
    for (let j = i + 1; j < sources.length; j++) {
      if (pairing === "cross-model" && sources[i] === sources[j]) continue;
      out.push([i, j]);
    }
  }
  if (out.length <= max) return out;
  // Keep every completion in at least one pair where possible: take evenly spaced pairs.
  const step = out.length / max;
  return Array.from({ length: max }, (_, k) => out[Math.floor(k * step)] as [number, number]);
}

export interface GenerateOptions {
  signal?: AbortSignal;
  retry?: Partial<RetryPolicy>;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Generates completions for the prompts from every model, stores them with provenance and makes
 * comparisons of them. A model that fails on a prompt is reported in `failures`; the others go on.
 */
export async function generateComparisons(
  raw: GenerateComparisonsInput,
  opts: GenerateOptions = {},
): Promise<GenerateComparisonsResult> {
  const parsed = GenerateComparisonsInput.safeParse(raw);
  if (!parsed.success)
    throw new DomainError(
      "bad_request",
      parsed.error.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`).join("; "),
    );
  const input = parsed.data;
  const project = await db().project.findUnique({
    where: { id: input.projectId },
    select: { id: true, labelSchema: true },
  });
  if (!project) throw new DomainError("not_found", `No project ${input.projectId}.`);
  const schema = parseLabelSchema(project.labelSchema);
  const prompts = await db().prompt.findMany({
    where: { id: { in: input.promptIds }, projectId: input.projectId },
    select: { id: true, text: true, messages: true, contentHash: true },
  });
  if (prompts.length !== new Set(input.promptIds).size) {
    const found = new Set(prompts.map((p) => p.id));
    const missing = input.promptIds.filter((id) => !found.has(id));
    throw new DomainError(
      "bad_request",
      `${missing.length} prompt(s) are not in this project: ${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ", …" : ""}.`,
    );
  }

  const generators: Generator[] = [];
  try {
    for (const e of input.endpoints) generators.push(endpointGenerator(e, input.sampling, opts.retry));
    for (const m of input.models) generators.push(await checkpointGenerator(m, input.sampling));
    const result: GenerateComparisonsResult = {
      prompts: prompts.length,
      completionsCreated: 0,
      completionsExisting: 0,
      comparisonsCreated: 0,
      comparisonsExisting: 0,
      failures: [],
      promptTokens: 0,
      completionTokens: 0,
    };
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < prompts.length && !opts.signal?.aborted) {
        const prompt = prompts[next++] as (typeof prompts)[number];
        const generated: Generated[] = [];
        for (const [gi, g] of generators.entries()) {
          for (let i = 0; i < input.n; i++) {
            try {
              const out = await g.generate(prompt, i, opts.signal);
              generated.push({ ...out, source: `${gi}` });
              const u = out.metadata.usage as
                { promptTokens?: number; completionTokens?: number } | null | undefined;
              result.promptTokens += u?.promptTokens ?? 0;
              result.completionTokens += u?.completionTokens ?? 0;
            } catch (e) {
              if (opts.signal?.aborted) return;
              result.failures.push({ promptId: prompt.id, model: g.name, error: (e as Error).message });
            }
          }
        }
        await storePrompt(input, schema.kind, prompt, generated, result);
        opts.onProgress?.(++done, prompts.length);
      }
    };
    // Our checkpoints compute in this process: one prompt at a time; endpoints get `concurrency`.
    const width = input.models.length ? 1 : input.concurrency;
    await Promise.all(Array.from({ length: Math.min(width, prompts.length) }, worker));
    return result;
  } finally {
    for (const g of generators) g.close();
  }
}

async function storePrompt(
  input: z.output<typeof GenerateComparisonsInput>,
  schemaKind: "pairwise" | "ranking",
  prompt: { id: string; contentHash: string },
  generated: Generated[],
  result: GenerateComparisonsResult,
): Promise<void> {
  if (!generated.length) return;
  // Completions: unique per (prompt, text). The first generation of a text keeps its provenance.
  const byHash = new Map<string, Generated>();
  for (const raw of generated) {
    const g = { ...raw, text: storableText(raw.text) };
    if (!byHash.has(completionHash(g.text))) byHash.set(completionHash(g.text), g);
  }
  const created = await db().completion.createMany({
    data: [...byHash.entries()].map(([hash, g]) => ({
      id: newId(),
      projectId: input.projectId,
      promptId: prompt.id,
      contentHash: hash,
      text: g.text,
      modelName: g.modelName,
      checkpointId: g.checkpointId,
      samplingParams: g.samplingParams as Prisma.InputJsonValue,
      metadata: g.metadata as Prisma.InputJsonValue,
    })),
    skipDuplicates: true,
  });
  result.completionsCreated += created.count;
  result.completionsExisting += byHash.size - created.count;
  const rows = await db().completion.findMany({
    where: { promptId: prompt.id, contentHash: { in: [...byHash.keys()] } },
    select: { id: true, contentHash: true },
  });
  const idOf = new Map(rows.map((r) => [r.contentHash, r.id]));
  const distinct = [...byHash.entries()].map(([hash, g]) => ({
    id: idOf.get(hash) as string,
    hash,
    source: g.source,
  }));
  if (distinct.length < 2) return;

  const groups: (typeof distinct)[] = [];
  if (schemaKind === "ranking") {
    for (
      let i = 0;
      i < distinct.length && groups.length < input.maxComparisonsPerPrompt;
      i += input.rankingSize
    ) {
      const g = distinct.slice(i, i + input.rankingSize);
      if (g.length >= 2) groups.push(g);
    }
  } else {
    for (const [i, j] of choosePairs(
      distinct.map((d) => d.source),
      input.pairing,
      input.maxComparisonsPerPrompt,
    )) {
      groups.push([distinct[i]!, distinct[j]!]);
    }
  }
  if (!groups.length) return;
  const made = await db().comparison.createMany({
    data: groups.map((g) => ({
      id: newId(),
      projectId: input.projectId,
      promptId: prompt.id,
      completionIds: g.map((c) => c.id),
      contentHash: comparisonHash(
        prompt.contentHash,
        g.map((c) => c.hash),
      ),
      source: input.roundId ? "round" : "generated",
      roundId: input.roundId ?? null,
      priority: input.priority,
      metadata: {
        generation: { models: [...new Set(g.map((c) => byHash.get(c.hash)?.modelName))] },
      } as Prisma.InputJsonValue,
    })),
    skipDuplicates: true,
  });
  result.comparisonsCreated += made.count;
  result.comparisonsExisting += groups.length - made.count;
}
