// Judge configurations: create, update (a change to what the judge sees or how it rules makes a
// new version), list. The API key is encrypted at rest and never leaves this module in the
// clear except to the worker that calls the endpoint (`judgeSecret`); views say "set" / "not set".
import { Prisma, type JudgeConfig } from "@prisma/client";
import { z } from "zod";
import { db } from "../db/client";
import { DomainError } from "../errors";
import { decryptSecret, encryptSecret, SecretDecryptionError } from "../crypto";
import {
  BUILTIN_RUBRICS,
  DEFAULT_RUBRIC,
  validateRubric,
  type BuiltinRubricId,
  type Rubric,
} from "./rubrics";

export const JUDGE_KINDS = ["llm", "reward_model", "rule"] as const;
export type JudgeKind = (typeof JUDGE_KINDS)[number];

/** JudgeConfig.settings, parsed with zod. */
export const JudgeSettings = z.object({
  /** Which built-in rubric the template came from (informational once copied). */
  rubricPreset: z.enum(Object.keys(BUILTIN_RUBRICS) as [BuiltinRubricId, ...BuiltinRubricId[]]).optional(),
  /** System message of the rubric (the template in JudgeConfig.rubric is the user message). */
  systemPrompt: z.string().max(20_000).default(""),
  /** Ask the endpoint for logprobs and use the verdict token's probability as confidence. */
  logprobs: z.boolean().default(true),
  topLogprobs: z.number().int().min(1).max(20).default(5),
  /** Transport retries per request (429, 5xx, timeouts, broken bodies). */
  maxRetries: z.number().int().min(0).max(10).default(4),
  /** First backoff ceiling in ms (doubles per retry, full jitter). */
  retryBaseDelayMs: z.number().int().min(0).max(60_000).default(1000),
  retryMaxDelayMs: z.number().int().min(0).max(600_000).default(30_000),
});
export type JudgeSettings = z.infer<typeof JudgeSettings>;

export function parseJudgeSettings(json: unknown): JudgeSettings {
  return JudgeSettings.parse(json ?? {});
}

const url = z
  .string()
  .trim()
  .url("expected the endpoint's base URL, e.g. http://localhost:8000/v1")
  .refine((u) => /^https?:\/\//.test(u), "the base URL must start with http:// or https://");

export const JudgeConfigInput = z
  .object({
    projectId: z.string().min(1).nullable().default(null),
    name: z.string().trim().min(1).max(120),
    kind: z.enum(JUDGE_KINDS),
    baseUrl: url.nullish(),
    model: z.string().trim().min(1).max(200).nullish(),
    /** Plaintext on the way in only. "" or null clears it; undefined keeps the stored one. */
    apiKey: z.string().max(4096).nullish(),
    temperature: z.number().min(0).max(2).default(0),
    maxTokens: z.number().int().min(1).max(32_768).default(1024),
    /** The rubric's user template; omitted = copy the preset's. */
    rubric: z.string().max(50_000).nullish(),
    rubricPreset: z.enum(Object.keys(BUILTIN_RUBRICS) as [BuiltinRubricId, ...BuiltinRubricId[]]).optional(),
    systemPrompt: z.string().max(20_000).optional(),
    positionSwap: z.boolean().default(true),
    concurrency: z.number().int().min(1).max(256).default(4),
    requestsPerMinute: z.number().int().min(1).nullish(),
    tokensPerMinute: z.number().int().min(1).nullish(),
    timeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
    costPerMInputTokens: z.number().min(0).default(0),
    costPerMOutputTokens: z.number().min(0).default(0),
    logprobs: z.boolean().optional(),
    maxRetries: z.number().int().min(0).max(10).optional(),
    retryBaseDelayMs: z.number().int().min(0).max(60_000).optional(),
    active: z.boolean().default(true),
  })
  .superRefine((c, ctx) => {
    if (c.kind === "llm") {
      if (!c.baseUrl)
        ctx.addIssue({
          code: "custom",
          path: ["baseUrl"],
          message: "an LLM judge needs the endpoint's base URL",
        });
      if (!c.model)
        ctx.addIssue({ code: "custom", path: ["model"], message: "an LLM judge needs a model name" });
    }
  });
export type JudgeConfigInput = z.input<typeof JudgeConfigInput>;

/** What pages and APIs see: everything but the key, which is only "set" or "not set". */
export interface JudgeConfigView {
  id: string;
  projectId: string | null;
  name: string;
  kind: JudgeKind;
  version: number;
  baseUrl: string | null;
  model: string | null;
  apiKey: "set" | "not set";
  temperature: number;
  maxTokens: number;
  rubric: string | null;
  systemPrompt: string;
  rubricPreset: BuiltinRubricId | null;
  positionSwap: boolean;
  concurrency: number;
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
  timeoutMs: number;
  costPerMInputTokens: number;
  costPerMOutputTokens: number;
  logprobs: boolean;
  maxRetries: number;
  active: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export function toView(c: JudgeConfig): JudgeConfigView {
  const s = parseJudgeSettings(c.settings);
  return {
    id: c.id,
    projectId: c.projectId,
    name: c.name,
    kind: c.kind as JudgeKind,
    version: c.version,
    baseUrl: c.baseUrl,
    model: c.model,
    apiKey: c.apiKeyEncrypted ? "set" : "not set",
    temperature: c.temperature,
    maxTokens: c.maxTokens,
    rubric: c.rubric,
    systemPrompt: s.systemPrompt,
    rubricPreset: s.rubricPreset ?? null,
    positionSwap: c.positionSwap,
    concurrency: c.concurrency,
    requestsPerMinute: c.requestsPerMinute,
    tokensPerMinute: c.tokensPerMinute,
    timeoutMs: c.timeoutMs,
    costPerMInputTokens: c.costPerMInputTokens,
    costPerMOutputTokens: c.costPerMOutputTokens,
    logprobs: s.logprobs,
    maxRetries: s.maxRetries,
    active: c.active,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  };
}

/** The rubric a config judges with. */
export function rubricOf(c: Pick<JudgeConfig, "rubric" | "settings">): Rubric {
  const s = parseJudgeSettings(c.settings);
  const preset = BUILTIN_RUBRICS[s.rubricPreset ?? DEFAULT_RUBRIC];
  if (c.rubric == null || c.rubric.trim() === "") return { system: preset.system, template: preset.template };
  return { system: s.systemPrompt, template: c.rubric };
}

function normalise(input: z.output<typeof JudgeConfigInput>, previousSettings: unknown) {
  const prev = parseJudgeSettings(previousSettings);
  let rubric: string | null = null;
  let systemPrompt = input.systemPrompt ?? prev.systemPrompt;
  let rubricPreset = input.rubricPreset ?? prev.rubricPreset;
  if (input.kind === "llm") {
    if (input.rubric && input.rubric.trim()) {
      rubric = input.rubric;
    } else {
      // Copy the preset into the row: a later edit of the built-in text never changes what an
      // existing judge version asked.
      rubricPreset ??= DEFAULT_RUBRIC;
      const p = BUILTIN_RUBRICS[rubricPreset];
      rubric = p.template;
      if (input.systemPrompt === undefined) systemPrompt = p.system;
    }
    validateRubric({ system: systemPrompt, template: rubric });
  }
  const settings: JudgeSettings = {
    ...prev,
    systemPrompt,
    ...(rubricPreset ? { rubricPreset } : {}),
    ...(input.logprobs !== undefined ? { logprobs: input.logprobs } : {}),
    ...(input.maxRetries !== undefined ? { maxRetries: input.maxRetries } : {}),
    ...(input.retryBaseDelayMs !== undefined ? { retryBaseDelayMs: input.retryBaseDelayMs } : {}),
  };
  return { rubric, settings };
}

function parseInput(raw: unknown): z.output<typeof JudgeConfigInput> {
  const r = JudgeConfigInput.safeParse(raw);
  if (!r.success) {
    throw new DomainError(
      "bad_request",
      r.error.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`).join("; "),
    );
  }
  return r.data;
}

export async function createJudgeConfig(raw: JudgeConfigInput): Promise<JudgeConfigView> {
  const input = parseInput(raw);
  if (input.projectId) await projectOrThrow(input.projectId);
  const { rubric, settings } = normalise(input, {});
  const row = await db().judgeConfig.create({
    data: {
      projectId: input.projectId,
      name: input.name,
      kind: input.kind,
      baseUrl: input.baseUrl ?? null,
      model: input.model ?? null,
      apiKeyEncrypted: input.apiKey ? encryptSecret(input.apiKey) : null,
      temperature: input.temperature,
      maxTokens: input.maxTokens,
      rubric,
      positionSwap: input.positionSwap,
      concurrency: input.concurrency,
      requestsPerMinute: input.requestsPerMinute ?? null,
      tokensPerMinute: input.tokensPerMinute ?? null,
      timeoutMs: input.timeoutMs,
      costPerMInputTokens: input.costPerMInputTokens,
      costPerMOutputTokens: input.costPerMOutputTokens,
      settings: settings as Prisma.InputJsonValue,
      active: input.active,
    },
  });
  return toView(row);
}

/** Fields whose change alters the judge's verdicts: changing one starts a new version. */
const VERSIONED = ["kind", "baseUrl", "model", "temperature", "maxTokens", "rubric", "positionSwap"] as const;

export async function updateJudgeConfig(
  id: string,
  raw: Partial<JudgeConfigInput>,
): Promise<JudgeConfigView> {
  const current = await judgeConfigRowOrThrow(id);
  const view = toView(current);
  const merged = parseInput({
    ...view,
    apiKey: undefined,
    rubricPreset: view.rubricPreset ?? undefined,
    ...raw,
  });
  // The stored key was given for one host: it never goes to another one unless re-entered.
  if (
    current.apiKeyEncrypted &&
    raw.apiKey === undefined &&
    originOf(merged.baseUrl) !== originOf(current.baseUrl)
  )
    throw new DomainError(
      "bad_request",
      "The base URL now points at another host: re-enter the API key for it (or clear the key), so the stored key is not sent to the new host.",
    );
  const { rubric, settings } = normalise(merged, current.settings);
  const next = { ...merged, rubric };
  const prevSettings = parseJudgeSettings(current.settings);
  const changed =
    VERSIONED.some((k) => (next[k] ?? null) !== (current[k] ?? null)) ||
    (next.kind === "llm" && settings.systemPrompt !== prevSettings.systemPrompt) ||
    settings.logprobs !== prevSettings.logprobs;
  const row = await db().judgeConfig.update({
    where: { id },
    data: {
      name: merged.name,
      kind: merged.kind,
      baseUrl: merged.baseUrl ?? null,
      model: merged.model ?? null,
      ...(raw.apiKey !== undefined ? { apiKeyEncrypted: raw.apiKey ? encryptSecret(raw.apiKey) : null } : {}),
      temperature: merged.temperature,
      maxTokens: merged.maxTokens,
      rubric,
      positionSwap: merged.positionSwap,
      concurrency: merged.concurrency,
      requestsPerMinute: merged.requestsPerMinute ?? null,
      tokensPerMinute: merged.tokensPerMinute ?? null,
      timeoutMs: merged.timeoutMs,
      costPerMInputTokens: merged.costPerMInputTokens,
      costPerMOutputTokens: merged.costPerMOutputTokens,
      settings: settings as Prisma.InputJsonValue,
      active: merged.active,
      ...(changed ? { version: { increment: 1 } } : {}),
    },
  });
  return toView(row);
}

/** scheme://host:port of a base URL (null when none): where a key would be sent. */
function originOf(u: string | null | undefined): string | null {
  if (!u) return null;
  try {
    return new URL(u).origin;
  } catch {
    return u;
  }
}

export async function listJudgeConfigs(opts: { projectId?: string } = {}): Promise<JudgeConfigView[]> {
  const rows = await db().judgeConfig.findMany({
    where: opts.projectId ? { OR: [{ projectId: opts.projectId }, { projectId: null }] } : {},
    orderBy: { createdAt: "desc" },
  });
  return rows.map(toView);
}

export async function getJudgeConfig(id: string): Promise<JudgeConfigView> {
  return toView(await judgeConfigRowOrThrow(id));
}

export async function judgeConfigRowOrThrow(id: string): Promise<JudgeConfig> {
  const row = await db().judgeConfig.findUnique({ where: { id } });
  if (!row) throw new DomainError("not_found", `No judge configuration ${id}; it may have been deleted.`);
  return row;
}

async function projectOrThrow(projectId: string) {
  const p = await db().project.findUnique({ where: { id: projectId }, select: { id: true } });
  if (!p) throw new DomainError("not_found", `No project ${projectId}.`);
  return p;
}

/** The API key in the clear, for the process that calls the endpoint. Never return it to a client. */
export function judgeSecret(c: Pick<JudgeConfig, "apiKeyEncrypted" | "name">): string | null {
  if (!c.apiKeyEncrypted) return null;
  try {
    return decryptSecret(c.apiKeyEncrypted);
  } catch (e) {
    if (e instanceof SecretDecryptionError)
      throw new DomainError("internal", `Judge "${c.name}": ${e.message}`);
    throw e;
  }
}
