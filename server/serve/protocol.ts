// The OpenAI request shapes `pairwise serve` accepts, parsed with zod. Fields we do not implement
// (penalties, tools, logit_bias...) are accepted and ignored, as vLLM does for unknown sampling
// options; fields that would change the meaning of the answer if ignored are refused.
import { z } from "zod";

const contentPart = z.object({ type: z.literal("text"), text: z.string() });

export const ChatMessageSchema = z.object({
  role: z.enum(["system", "developer", "user", "assistant"], {
    message: 'role must be "system", "developer", "user" or "assistant" (tool messages are not supported)',
  }),
  content: z
    .union([
      z.string(),
      z.array(contentPart, { message: 'content parts must be text parts ({type: "text", text})' }),
    ])
    .nullable(),
  name: z.string().optional(),
});

const stop = z.union([z.string(), z.array(z.string()).max(4, "at most 4 stop sequences")]).nullish();

const sampling = {
  model: z.string().min(1, "model is required"),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0, "top_p must be > 0").max(1).nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  stop,
  n: z.number().int().min(1).max(16, "n may be at most 16").nullish(),
  seed: z.number().int().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  user: z.string().optional(),
  // vLLM's extra parameters, with vLLM's meaning and defaults:
  /** Keep only the last N tokens of the prompt (otherwise a prompt over the context is refused). */
  truncate_prompt_tokens: z.number().int().min(1).nullish(),
  /** Leave special tokens (<|assistant|>...) out of the text; default true. */
  skip_special_tokens: z.boolean().nullish(),
};

export const ChatCompletionRequest = z
  .object({
    ...sampling,
    messages: z.array(ChatMessageSchema).min(1, "messages must not be empty"),
    max_completion_tokens: z.number().int().min(1).nullish(),
    logprobs: z.boolean().nullish(),
    top_logprobs: z.number().int().min(0).max(20).nullish(),
    tools: z.array(z.unknown()).max(0, "tools are not supported by pairwise serve").optional(),
  })
  .passthrough();
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

export const CompletionRequest = z
  .object({
    ...sampling,
    prompt: z.union([z.string(), z.array(z.string()).min(1).max(64)], {
      message: "prompt must be a string or an array of strings",
    }),
    echo: z.literal(false, { message: "echo is not supported" }).nullish(),
    logprobs: z.null({ message: "logprobs are not supported by pairwise serve's /v1/completions" }).nullish(),
    suffix: z.null({ message: "suffix is not supported" }).nullish(),
  })
  .passthrough();
export type CompletionRequest = z.infer<typeof CompletionRequest>;

export type TextContent = z.infer<typeof ChatMessageSchema>["content"];

export function textOf(content: TextContent): string {
  if (content == null) return "";
  return typeof content === "string" ? content : content.map((p) => p.text).join("");
}

export function stopList(s: string | string[] | null | undefined): string[] {
  if (s == null) return [];
  return (typeof s === "string" ? [s] : s).filter((x) => x.length > 0);
}

/** OpenAI error body. */
export function errorBody(
  message: string,
  type: string,
  code: string | null = null,
  param: string | null = null,
) {
  return { error: { message, type, param, code } };
}

export function zodMessage(e: z.ZodError): { message: string; param: string | null } {
  const i = e.issues[0];
  const param = i && i.path.length ? i.path.join(".") : null;
  return {
    message: e.issues.map((x) => `${x.path.length ? `${x.path.join(".")}: ` : ""}${x.message}`).join("; "),
    param,
  };
}
