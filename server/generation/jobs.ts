// pg-boss jobs for generation. An endpoint's API key travels encrypted in the job's data (the job
// table is in the database; see server/crypto.ts) and is decrypted only by the worker.
import type PgBoss from "pg-boss";
import { ensureQueue, getBoss } from "../jobs/boss";
import { decryptSecret, encryptSecret } from "../crypto";
import { DomainError } from "../errors";
import { GenerateComparisonsInput, generateComparisons, type GenerateComparisonsResult } from "./generate";

export const GENERATION_QUEUE = "generation.run";

interface GenerationJobData {
  input: Omit<GenerateComparisonsInput, "endpoints"> & {
    endpoints?: Array<Omit<NonNullable<GenerateComparisonsInput["endpoints"]>[number], "apiKey"> & { apiKeyEncrypted?: string }>;
  };
  createdById?: string | null;
}

async function queue(boss?: PgBoss): Promise<PgBoss> {
  const b = boss ?? (await getBoss());
  await ensureQueue(b, GENERATION_QUEUE, { retryLimit: 1, retryDelay: 30, expireInSeconds: 4 * 3600 });
  return b;
}

/** Validates and queues a generation; returns the job id. */
export async function enqueueGeneration(input: GenerateComparisonsInput, opts: { createdById?: string | null; boss?: PgBoss } = {}): Promise<string> {
  const parsed = GenerateComparisonsInput.safeParse(input);
  if (!parsed.success) throw new DomainError("bad_request", parsed.error.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`).join("; "));
  const data: GenerationJobData = {
    input: {
      ...input,
      endpoints: parsed.data.endpoints.map(({ apiKey, ...e }) => ({ ...e, ...(apiKey ? { apiKeyEncrypted: encryptSecret(apiKey, { purpose: "generation-api-key" }) } : {}) })),
    },
    createdById: opts.createdById ?? null,
  };
  const b = await queue(opts.boss);
  const id = await b.send(GENERATION_QUEUE, data);
  if (!id) throw new DomainError("internal", "The job queue refused the generation job; try again.");
  return id;
}

export interface GenerationJobView {
  id: string;
  state: string;
  createdOn: Date;
  completedOn: Date | null;
  result: GenerateComparisonsResult | null;
  error: string | null;
}

export async function getGenerationJob(id: string, boss?: PgBoss): Promise<GenerationJobView> {
  const b = await queue(boss);
  const job = await b.getJobById<GenerationJobData>(GENERATION_QUEUE, id);
  if (!job) throw new DomainError("not_found", `No generation job ${id}.`);
  const output = job.output as (Partial<GenerateComparisonsResult> & { message?: string }) | null;
  const failed = job.state === "failed";
  return {
    id: job.id,
    state: job.state,
    createdOn: job.createdOn,
    completedOn: job.completedOn,
    result: !failed && output && "prompts" in output ? (output as GenerateComparisonsResult) : null,
    error: failed ? (output?.message ?? "failed") : null,
  };
}

export async function registerJobs(boss: PgBoss): Promise<void> {
  await queue(boss);
  await boss.work<GenerationJobData>(GENERATION_QUEUE, { batchSize: 1, pollingIntervalSeconds: 2 }, async ([job]) => {
    if (!job) return;
    const { input } = job.data;
    return generateComparisons({
      ...input,
      endpoints: (input.endpoints ?? []).map(({ apiKeyEncrypted, ...e }) => ({
        ...e,
        ...(apiKeyEncrypted ? { apiKey: decryptSecret(apiKeyEncrypted, { purpose: "generation-api-key" }) } : {}),
      })),
    });
  });
}
