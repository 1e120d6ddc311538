// pairwise serve
import path from "node:path";
import { env, setDatabaseUrl } from "@/server/env";
import { runningEmbeddedUrl } from "@/server/db/connect";
import { startServeServer } from "@/server/serve/server";
import { num, println, str, UsageError, type Command } from "../command";

export const serveCommand: Command = {
  name: "serve",
  summary: "Serve policy checkpoints over the OpenAI API (/v1/models, /v1/chat/completions, /v1/completions)",
  help: `Usage: pairwise serve [--port 3001] [--host 127.0.0.1] [--checkpoint <folder>] [--checkpoint-dir <dir>]
                      [--no-db] [--no-default] [--train-steps N] [--truncate-prompts]
                      [--backend wasm|cpu|webgpu|node]

Serves, as OpenAI-compatible models (model id = checkpoint name):
  - every promoted policy checkpoint recorded in the database (DATABASE_URL, or the embedded
    database of a running \`pairwise start\`; --no-db to skip),
  - the checkpoint folder given with --checkpoint (id = folder name),
  - a default "pairwise-tiny": a small model trained on the demo's mini-R1 arithmetic
    (scripts/train-demo-model.ts; "2+3?" -> "<think>2 + 3 = 5.</think>The answer is 5."), copied
    into <checkpoint dir>/_serve when first served (--train-steps N: a fresh tiny model with N
    steps of mini-R1 SFT instead).

Streaming (SSE), temperature, top_p, max_tokens, stop, n and seed are supported; logprobs are not.
A prompt longer than the model's context is refused with 400 context_length_exceeded (as OpenAI
and vLLM do); a request may send vLLM's "truncate_prompt_tokens": N to keep only the last N tokens,
and --truncate-prompts makes the server cut every over-long prompt from the start instead.
Special tokens (<|assistant|>, <|end|>...) are left out of the text; a request may send
"skip_special_tokens": false to see them.
Any OpenAI client works: OpenAI({ baseURL: "http://127.0.0.1:3001/v1", apiKey: "x" }).
Set PAIRWISE_SERVE_API_KEY to require a bearer key (do so before binding beyond localhost).
\`npm start\` runs the same service on PAIRWISE_SERVE_PORT.

Examples:
  pairwise serve
  pairwise serve --checkpoint .data/checkpoints/round-3/policy --port 8000 --no-db
  curl http://127.0.0.1:3001/v1/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"pairwise-tiny","messages":[{"role":"user","content":"2+3?"}],"max_tokens":48}'`,
  options: {
    port: { type: "string" },
    host: { type: "string" },
    checkpoint: { type: "string" },
    "checkpoint-dir": { type: "string" },
    "no-db": { type: "boolean" },
    "no-default": { type: "boolean" },
    "train-steps": { type: "string" },
    "truncate-prompts": { type: "boolean" },
    backend: { type: "string" },
  },
  async run({ values, positionals }, io) {
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const e = env();
    const port = num(values.port, "port", { min: 0, max: 65535 }) ?? e.PAIRWISE_SERVE_PORT;
    let database = false;
    if (!values["no-db"]) {
      if (!e.DATABASE_URL) {
        const url = runningEmbeddedUrl(e.dataDir);
        if (url) setDatabaseUrl(url); // db() in this process: the running embedded database
        database = Boolean(url);
        if (!url)
          println(
            io.stderr,
            "note: no database (DATABASE_URL unset and `pairwise start` not running): serving without promoted checkpoints",
          );
      } else database = true;
    }
    const checkpoint = str(values.checkpoint);
    const server = await startServeServer({
      port,
      host: str(values.host) ?? e.PAIRWISE_HOST,
      checkpointDir: path.resolve(str(values["checkpoint-dir"]) ?? e.checkpointDir),
      checkpointPath: checkpoint ? path.resolve(checkpoint) : undefined,
      database,
      defaultModel: !values["no-default"],
      defaultTrainSteps: num(values["train-steps"], "train-steps", { min: 0, max: 100_000 }),
      truncatePrompts: Boolean(values["truncate-prompts"]),
      backend: str(values.backend),
      log: (m) => println(io.stderr, `[serve] ${m}`),
    });
    println(
      io.stdout,
      `serving on ${server.url} — models: ${(await server.models()).map((m) => m.id).join(", ")}`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    await server.close();
    return 0;
  },
};
