// What a generation asks for, as zod schemas (no trainer import: the web app validates with these).
import { z } from "zod";

export const Sampling = z.object({
  temperature: z.number().min(0).max(2).default(1),
  topP: z.number().gt(0).max(1).default(1),
  maxTokens: z.number().int().min(1).max(32_768).default(256),
  stop: z.array(z.string().min(1)).max(4).default([]),
  /** Seed of completion i is seed + i (reproducible on our checkpoints; best effort elsewhere). */
  seed: z.number().int().default(0),
});
export type Sampling = z.infer<typeof Sampling>;

export const EndpointSource = z.object({
  baseUrl: z.string().url(),
  model: z.string().min(1),
  apiKey: z.string().optional(),
  /** Name recorded as Completion.modelName (default: model). */
  name: z.string().min(1).optional(),
  timeoutMs: z.number().int().min(100).default(120_000),
});
export type EndpointSource = z.infer<typeof EndpointSource>;

export const CheckpointSource = z.union([
  z.object({ checkpointId: z.string().min(1) }),
  z.object({ checkpointPath: z.string().min(1), name: z.string().min(1) }),
]);
export type CheckpointSource = z.infer<typeof CheckpointSource>;

export const GenerateComparisonsInput = z
  .object({
    projectId: z.string().min(1),
    promptIds: z.array(z.string().min(1)).min(1).max(100_000),
    /** OpenAI-compatible endpoints. */
    endpoints: z.array(EndpointSource).default([]),
    /** Our checkpoints, run in this process. */
    models: z.array(CheckpointSource).default([]),
    /** Completions per prompt per model. */
    n: z.number().int().min(1).max(16).default(1),
    sampling: Sampling.default(Sampling.parse({})),
    /** Pairwise projects: "all" pairs of the prompt's new completions, or only pairs from different models. */
    pairing: z.enum(["all", "cross-model"]).default("all"),
    maxComparisonsPerPrompt: z.number().int().min(1).max(120).default(10),
    /** Ranking projects: completions per K-way comparison (capped by the project's completions). */
    rankingSize: z.number().int().min(2).max(16).default(4),
    /** Requests in flight to endpoints. */
    concurrency: z.number().int().min(1).max(64).default(4),
    /** Provenance of comparisons made by a training round. */
    roundId: z.string().optional(),
    /** Queue priority of the new comparisons (higher first). */
    priority: z.number().default(0),
  })
  .refine((x) => x.endpoints.length + x.models.length > 0, {
    message: "give at least one model: endpoints (OpenAI-compatible) or models (checkpoints)",
  });
export type GenerateComparisonsInput = z.input<typeof GenerateComparisonsInput>;
