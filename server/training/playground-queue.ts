// The web side of the playground: sends the request to the trainer service through pg-boss and
// waits for the answer, so TensorFlow.js stays in the trainer process. No trainer import here.
import { z } from "zod";
import { DomainError } from "@/server/errors";
import { ensureQueue, getBoss } from "@/server/jobs/boss";

export const PLAYGROUND_QUEUE = "training.playground";

export const PlaygroundInput = z.object({
  prompt: z.string().trim().min(1, "write a prompt").max(4000),
  checkpointIds: z.array(z.string().min(1)).min(1).max(2),
  maxTokens: z.number().int().min(1).max(512).default(64),
  temperature: z.number().min(0).max(2).default(0),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .default(0),
});
export type PlaygroundInput = z.output<typeof PlaygroundInput>;

export interface PlaygroundOutput {
  completions: Array<{
    checkpointId: string;
    name: string;
    text: string;
    tokens: number;
    finishReason: string;
    ms: number;
  }>;
}

export async function ensurePlaygroundQueue(): Promise<void> {
  await ensureQueue(await getBoss(), PLAYGROUND_QUEUE, { retryLimit: 0, expireInSeconds: 120 });
}

/** Asks the trainer service to generate, and waits up to `timeoutMs` for it. */
export async function playground(
  raw: z.input<typeof PlaygroundInput>,
  timeoutMs = 60_000,
): Promise<PlaygroundOutput> {
  const input = PlaygroundInput.parse(raw);
  const boss = await getBoss();
  await ensurePlaygroundQueue();
  const id = await boss.send(PLAYGROUND_QUEUE, input, {
    expireInSeconds: Math.ceil(timeoutMs / 1000) + 30,
    retryLimit: 0,
  });
  if (!id) throw new DomainError("internal", "The playground request could not be queued; try again.");
  const end = Date.now() + timeoutMs;
  for (;;) {
    const job = await boss.getJobById<PlaygroundInput>(PLAYGROUND_QUEUE, id);
    if (job?.state === "completed") return job.output as unknown as PlaygroundOutput;
    if (job?.state === "failed") {
      const msg = (job.output as { message?: string } | null)?.message ?? "the trainer could not generate";
      throw new DomainError("bad_request", `Playground: ${msg}`);
    }
    if (Date.now() > end) {
      await boss.cancel(PLAYGROUND_QUEUE, id).catch(() => undefined);
      throw new DomainError(
        "rate_limited",
        "No trainer answered in time: start the trainer (`npm start` runs one, or `pairwise trainer`), or wait for a busy one and try again.",
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
