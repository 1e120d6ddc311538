// pg-boss jobs for generation; the worker process calls registerJobs(boss). Queueing is in queue.ts.
import type PgBoss from "pg-boss";
import { decryptSecret } from "../crypto";
import { generateComparisons } from "./generate";
import { GENERATION_QUEUE, generationQueue, type GenerationJobData } from "./queue";

export { enqueueGeneration, getGenerationJob, GENERATION_QUEUE } from "./queue";

export async function registerJobs(boss: PgBoss): Promise<void> {
  await generationQueue(boss);
  await boss.work<GenerationJobData>(
    GENERATION_QUEUE,
    { batchSize: 1, pollingIntervalSeconds: 2 },
    async ([job]) => {
      if (!job) return;
      const { input } = job.data;
      return generateComparisons({
        ...input,
        endpoints: (input.endpoints ?? []).map(({ apiKeyEncrypted, ...e }) => ({
          ...e,
          ...(apiKeyEncrypted
            ? { apiKey: decryptSecret(apiKeyEncrypted, { purpose: "generation-api-key" }) }
            : {}),
        })),
      });
    },
  );
}
