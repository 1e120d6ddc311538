// Bridges between rows and the trainer library: prompts as the trainer's prompt type, snapshot
// pairs as trainer PreferencePairs, loading checkpoints by their row, the model shape of a
// project's settings, and the reference log-prob cache persisted in the RefLogpCache table.
import path from "node:path";
import type { Checkpoint } from "@prisma/client";
import {
  PRESETS,
  RefLogpCache,
  loadCheckpoint,
  type BpeTokenizer,
  type ChatMessage,
  type GPTModel,
  type ModelConfig,
  type PreferencePair,
} from "@/trainer";
import { db } from "@/server/db/client";
import type { TrainingPair } from "@/server/data/snapshots";
import type { TrainingSettings } from "./settings";

export type TrainerPrompt = string | ChatMessage[];

/** A prompt row as the trainer takes it: a conversation when it has messages, else its text. */
export function trainerPrompt(p: { text: string | null; messages: unknown }): TrainerPrompt {
  if (Array.isArray(p.messages) && p.messages.length) {
    return (p.messages as Array<{ role?: unknown; content?: unknown }>).map((m) => ({
      role: m.role === "system" || m.role === "assistant" ? m.role : "user",
      content: typeof m.content === "string" ? m.content : String(m.content ?? ""),
    }));
  }
  return p.text ?? "";
}

/** Snapshot pairs as trainer pairs; the pair id is the key (reference log-prob cache). */
export function trainerPairs(pairs: readonly TrainingPair[]): PreferencePair[] {
  return pairs.map((p) => ({
    prompt: trainerPrompt({ text: p.prompt, messages: p.messages }),
    chosen: p.chosen,
    rejected: p.rejected,
    key: p.pairId,
  }));
}

/** The model shape of the settings, for a tokenizer of `vocabSize` ids. */
export function modelConfigOf(settings: TrainingSettings, vocabSize: number): ModelConfig {
  const base = PRESETS[settings.model.preset];
  const m = settings.model;
  return {
    ...base,
    vocabSize,
    contextLength: m.contextLength ?? base.contextLength,
    nLayer: m.nLayer ?? base.nLayer,
    nHead: m.nHead ?? base.nHead,
    nEmbd: m.nEmbd ?? base.nEmbd,
  };
}

export function checkpointPath(root: string, c: Pick<Checkpoint, "path">): string {
  return path.isAbsolute(c.path) ? c.path : path.join(root, c.path);
}

export interface Loaded {
  model: GPTModel;
  tokenizer: BpeTokenizer;
}

/** Loads a checkpoint row's folder, checking it holds the kind of model expected. */
export async function loadModel(root: string, c: Checkpoint, expect: "policy" | "reward"): Promise<Loaded> {
  const ck = await loadCheckpoint(checkpointPath(root, c));
  if (ck.kind !== expect)
    throw new Error(`Checkpoint ${c.name} holds a ${ck.kind} model where a ${expect} model was expected.`);
  return { model: ck.model, tokenizer: ck.tokenizer };
}

/** Reads the cached reference log-probs of these pairs under one reference checkpoint. */
export async function loadRefCache(referenceId: string, pairKeys: readonly string[]): Promise<RefLogpCache> {
  const cache = new RefLogpCache();
  for (let i = 0; i < pairKeys.length; i += 5000) {
    const rows = await db().refLogpCache.findMany({
      where: { checkpointId: referenceId, pairKey: { in: pairKeys.slice(i, i + 5000) } },
    });
    for (const r of rows) cache.set(referenceId, r.pairKey, { chosen: r.chosen, rejected: r.rejected });
  }
  return cache;
}

/** Persists a reference's cached log-probs (rows already there are kept as they are). */
export async function saveRefCache(referenceId: string, cache: RefLogpCache): Promise<number> {
  const entries = cache.toJSON().entries[referenceId] ?? {};
  const data = Object.entries(entries)
    .filter(([, v]) => Number.isFinite(v["chosen"]) && Number.isFinite(v["rejected"]))
    .map(([pairKey, v]) => ({
      checkpointId: referenceId,
      pairKey,
      chosen: v["chosen"] as number,
      rejected: v["rejected"] as number,
    }));
  let n = 0;
  for (let i = 0; i < data.length; i += 2000)
    n += (await db().refLogpCache.createMany({ data: data.slice(i, i + 2000), skipDuplicates: true })).count;
  return n;
}
