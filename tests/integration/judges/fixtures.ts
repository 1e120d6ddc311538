// Shared fixtures for the judge tests: a project with pairwise comparisons, and a programmable
// fake OpenAI-compatible server (node:http) that records what it was asked.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { PrismaClient } from "@prisma/client";
import { completionHash, comparisonHash, promptHash } from "@/server/data/hash";

export interface Fixture {
  projectId: string;
  comparisonIds: string[];
  /** completion ids per comparison, canonical order */
  pairs: Array<{ comparisonId: string; a: string; b: string; aText: string; bText: string }>;
}

let counter = 0;

/**
 * A project whose comparisons pit a GOOD answer against a BAD one, the good one first in
 * canonical order where `goodFirst(i)` says so.
 */
export async function makeProject(
  prisma: PrismaClient,
  opts: {
    n: number;
    goodFirst?: (i: number) => boolean;
    settings?: Record<string, unknown>;
    aiCountsTowardConsensus?: boolean;
    overlap?: number;
    promptMetadata?: (i: number) => Record<string, unknown>;
    texts?: (i: number) => { a: string; b: string };
  },
): Promise<Fixture> {
  const slug = `judges-${process.pid}-${++counter}-${Date.now()}`;
  const project = await prisma.project.create({
    data: {
      slug,
      name: slug,
      labelSchema: {
        kind: "pairwise",
        strength: false,
        allowTie: true,
        allowBothBad: true,
        axes: [],
        rationale: "optional",
        judgeReasoningSeparately: false,
      },
      settings: (opts.settings ?? {}) as object,
      aiCountsTowardConsensus: opts.aiCountsTowardConsensus ?? false,
      overlap: opts.overlap ?? 1,
    },
  });
  const fx: Fixture = { projectId: project.id, comparisonIds: [], pairs: [] };
  for (let i = 0; i < opts.n; i++) {
    const text = `Question ${i}: what is ${i} + ${i}?`;
    const ph = promptHash({ text });
    const prompt = await prisma.prompt.create({
      data: {
        projectId: project.id,
        contentHash: ph,
        text,
        metadata: (opts.promptMetadata?.(i) ?? {}) as object,
      },
    });
    const goodFirst = opts.goodFirst ? opts.goodFirst(i) : i % 2 === 0;
    const t =
      opts.texts?.(i) ??
      (goodFirst
        ? { a: `GOOD answer ${2 * i}`, b: `BAD answer, a much longer ramble ${i}` }
        : { a: `BAD answer, a much longer ramble ${i}`, b: `GOOD answer ${2 * i}` });
    const ca = await prisma.completion.create({
      data: {
        projectId: project.id,
        promptId: prompt.id,
        contentHash: completionHash(t.a),
        text: t.a,
        modelName: "m1",
      },
    });
    const cb = await prisma.completion.create({
      data: {
        projectId: project.id,
        promptId: prompt.id,
        contentHash: completionHash(t.b),
        text: t.b,
        modelName: "m2",
      },
    });
    const cmp = await prisma.comparison.create({
      data: {
        projectId: project.id,
        promptId: prompt.id,
        completionIds: [ca.id, cb.id],
        contentHash: comparisonHash(ph, [ca.contentHash, cb.contentHash]),
        createdAt: new Date(Date.now() + i), // stable order
      },
    });
    fx.comparisonIds.push(cmp.id);
    fx.pairs.push({ comparisonId: cmp.id, a: ca.id, b: cb.id, aText: t.a, bText: t.b });
  }
  return fx;
}

export interface FakeRequest {
  body: {
    model: string;
    messages: { role: string; content: string }[];
    temperature?: number;
    max_tokens?: number;
    logprobs?: boolean;
    top_logprobs?: number;
  };
  headers: http.IncomingHttpHeaders;
  /** Which answer is shown first, read from the rendered rubric: "GOOD" or "BAD". */
  firstShown: "GOOD" | "BAD" | null;
  n: number;
}

export type FakeReply =
  | { kind: "json"; status?: number; headers?: Record<string, string>; body: unknown; delayMs?: number }
  | { kind: "raw"; status?: number; headers?: Record<string, string>; body: string; delayMs?: number }
  | { kind: "hang" }; // never answers (the client's timeout fires)

/** A chat completion whose content is `text`, with usage and (optionally) logprobs for the verdict letter. */
export function chatReply(
  text: string,
  o: { promptTokens?: number; completionTokens?: number; letterProb?: number } = {},
): FakeReply {
  let logprobs: unknown = null;
  if (o.letterProb !== undefined) {
    const m = /\[\[([ABC])\]\]\s*$/.exec(text);
    if (m) {
      const before = text.slice(0, m.index + 2);
      const letter = m[1]!;
      const other = letter === "A" ? "B" : "A";
      logprobs = {
        content: [
          { token: before, logprob: -0.01, top_logprobs: [] },
          {
            token: letter,
            logprob: Math.log(o.letterProb),
            top_logprobs: [
              { token: letter, logprob: Math.log(o.letterProb) },
              { token: other, logprob: Math.log(1 - o.letterProb) },
            ],
          },
          { token: "]]", logprob: -0.001, top_logprobs: [] },
        ],
      };
    }
  }
  return {
    kind: "json",
    body: {
      id: "chatcmpl-fake",
      object: "chat.completion",
      created: 0,
      model: "fake",
      choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop", logprobs }],
      usage: {
        prompt_tokens: o.promptTokens ?? 100,
        completion_tokens: o.completionTokens ?? 10,
        total_tokens: (o.promptTokens ?? 100) + (o.completionTokens ?? 10),
      },
    },
  };
}

/** The verdict a competent judge gives: the position holding the GOOD answer. */
export function honestVerdict(r: FakeRequest): "A" | "B" {
  return r.firstShown === "GOOD" ? "A" : "B";
}

export interface FakeServer {
  url: string;
  requests: FakeRequest[];
  maxInFlight: number;
  setHandler(h: (r: FakeRequest) => FakeReply | Promise<FakeReply>): void;
  resetPeak(): void;
  close(): Promise<void>;
}

export async function startFakeLlm(
  handler: (r: FakeRequest) => FakeReply | Promise<FakeReply>,
): Promise<FakeServer> {
  let h = handler;
  const requests: FakeRequest[] = [];
  let inFlight = 0;
  const state = { maxInFlight: 0 };
  const server = http.createServer(async (req, res) => {
    inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    res.on("close", () => inFlight--);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as FakeRequest["body"];
    const user = body.messages.find((m) => m.role === "user")?.content ?? "";
    const aStart = user.indexOf("[The Start of Assistant A's Answer]");
    const first = aStart >= 0 ? user.slice(aStart, aStart + 60) : "";
    const fr: FakeRequest = {
      body,
      headers: req.headers,
      firstShown: first.includes("GOOD") ? "GOOD" : first.includes("BAD") ? "BAD" : null,
      n: requests.length + 1,
    };
    requests.push(fr);
    const reply = await h(fr);
    if (reply.kind === "hang") return; // the client gives up; the socket is closed on server.close
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    if (res.destroyed) return;
    const data = reply.kind === "json" ? JSON.stringify(reply.body) : reply.body;
    res.writeHead(reply.status ?? 200, { "content-type": "application/json", ...reply.headers });
    res.end(data);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    get maxInFlight() {
      return state.maxInFlight;
    },
    setHandler(nh) {
      h = nh;
    },
    resetPeak() {
      state.maxInFlight = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
