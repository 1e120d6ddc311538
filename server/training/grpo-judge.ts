// An LLM judge's score as a GRPO reward (grpo.rewards.judge): the project's judge configuration
// (endpoint, model, key, timeout) asked to rate one completion from 1 to 10 through the judges'
// OpenAI-compatible client, scaled to [0, 1]. A rule judge scores by the prompt's environment
// checker instead. An unreadable reply or a failed call gives null (left out of the weighted sum).
import { envJudgeScore, type RewardInput } from "@/trainer";
import { judgeConfigRowOrThrow, judgeSecret } from "@/server/judges/config";
import { chatCompletion, withRetries } from "@/server/judges/openai-client";

const RATE = `Rate the assistant's answer to the user's request from 1 (wrong or useless) to 10 (correct and well reasoned). Reply with the number only.`;

/** The rating in a reply: its first integer 1..10, scaled to [0, 1]; null when there is none. */
export function ratingOf(reply: string | null): number | null {
  const m = /\b(10|[1-9])\b/.exec(reply ?? "");
  return m ? (Number(m[1]) - 1) / 9 : null;
}

function promptText(p: RewardInput["prompt"]): string {
  return typeof p === "string" ? p : p.map((m) => `${m.role}: ${m.content}`).join("\n");
}

export async function judgeScorer(judgeId: string): Promise<(x: RewardInput) => Promise<number | null>> {
  const cfg = await judgeConfigRowOrThrow(judgeId);
  if (cfg.kind === "rule")
    return async (x) => (await envJudgeScore({ task: x.env, problem: x.data }, x.completion))?.reward ?? null;
  if (cfg.kind !== "llm" || !cfg.baseUrl || !cfg.model)
    throw new Error(
      `judge "${cfg.name}" cannot score GRPO rollouts (an llm judge with an endpoint, or a rule judge)`,
    );
  const apiKey = judgeSecret(cfg);
  const baseUrl = cfg.baseUrl;
  const model = cfg.model;
  return async (x) => {
    try {
      const r = await withRetries(
        () =>
          chatCompletion({
            baseUrl,
            apiKey,
            model,
            temperature: 0,
            maxTokens: 8,
            timeoutMs: cfg.timeoutMs,
            messages: [
              { role: "system", content: RATE },
              {
                role: "user",
                content: `Request:\n${promptText(x.prompt)}\n\nAnswer:\n${x.completion}\n\nRating (1-10):`,
              },
            ],
          }),
        { policy: { maxRetries: 2, baseDelayMs: 200, maxDelayMs: 2000 } },
      );
      return ratingOf(r.choices[0]?.text ?? null);
    } catch {
      return null;
    }
  };
}
