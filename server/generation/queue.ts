// Queueing generations (pg-boss) and reading their state. An endpoint's API key travels encrypted
// in the job's data (the job table is in the database; see server/crypto.ts) and is decrypted only
// by the worker (jobs.ts). No trainer import here: the web app loads this file.
import type PgBoss from "pg-boss";
import { ensureQueue, getBoss } from "../jobs/boss";
import { encryptSecret } from "../crypto";
import { DomainError } from "../errors";
import { GenerateComparisonsInput } from "./schema";
import type { GenerateComparisonsResult } from "./generate";

export const GENERATION_QUEUE = "generation.run";

export interface GenerationJobData {
  input: Omit<GenerateComparisonsInput, "endpoints"> & {
    endpoints?: Array<
      Omit<NonNullable<GenerateComparisonsInput["endpoints"]>[number], "apiKey"> & {
        apiKeyEncrypted?: string;
      }
    >;
  };
  createdById?: string | null;
}

export async function generationQueue(boss?: PgBoss): Promise<PgBoss> {
  const b = boss ?? (await getBoss());
  await ensureQueue(b, GENERATION_QUEUE, { retryLimit: 1, retryDelay: 30, expireInSeconds: 4 * 3600 });
  return b;
}

/** Validates and queues a generation; returns the job id. */
export async function enqueueGeneration(
  input: GenerateComparisonsInput,
  opts: { createdById?: string | null; boss?: PgBoss } = {},
): Promise<string> {
  const parsed = GenerateComparisonsInput.safeParse(input);
  if (!parsed.success)
    throw new DomainError(
      "bad_request",
      parsed.error.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`).join("; "),
    );
  const data: GenerationJobData = {
    input: {
      ...input,
      endpoints: parsed.data.endpoints.map(({ apiKey, ...e }) => ({
        ...e,
        ...(apiKey ? { apiKeyEncrypted: encryptSecret(apiKey, { purpose: "generation-api-key" }) } : {}),
      })),
    },
    createdById: opts.createdById ?? null,
  };
  const b = await generationQueue(opts.boss);
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
  const b = await generationQueue(boss);
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
