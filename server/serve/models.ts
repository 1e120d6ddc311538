// Which models `pairwise serve` offers, and loading them.
//  - every promoted policy (or SFT) checkpoint in the database, model id = checkpoint name;
//  - a checkpoint folder given on the command line (`--checkpoint`), id = its folder name;
//  - a default ("pairwise-tiny"): the demo model shipped in server/serve/demo-model/ (tiny preset,
//    trained on the demo's mini-R1 arithmetic by scripts/train-demo-model.ts), copied once into the
//    checkpoint store, so the protocol works and answers sensibly before any training round.
// Loaded models are cached (least recently used beyond `maxLoaded` are disposed when idle).
import { promises as fs } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  BpeTokenizer,
  PRESETS,
  createPolicy,
  disposeModel,
  loadCheckpoint,
  miniR1,
  readCheckpointMeta,
  saveCheckpoint,
  trainSFT,
  type GPTModel,
  type ModelConfigInput,
} from "@/trainer";

export const DEFAULT_MODEL_ID = "pairwise-tiny";

export interface ServedModel {
  id: string;
  path: string;
  checkpointId: string | null;
  created: number; // unix seconds
  source: "database" | "path" | "default";
}

export interface LoadedModel {
  entry: ServedModel;
  model: GPTModel;
  tokenizer: BpeTokenizer;
}

/** The shipped demo model (written by scripts/train-demo-model.ts; manifest.json says how). */
export function shippedDemoModelDir(): string {
  return fileURLToPath(new URL("./demo-model", import.meta.url));
}

const SHIPPED_FILES = [
  "config.json",
  "model.safetensors",
  "tokenizer.json",
  "tokenizer_config.json",
  "generation_config.json",
];

/** Copies the shipped demo model into `dir` (atomically); false if it is not there. */
async function copyShippedModel(dir: string, from = shippedDemoModelDir()): Promise<boolean> {
  const ok = await fs.stat(path.join(from, "model.safetensors")).then(
    () => true,
    () => false,
  );
  if (!ok) return false;
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await fs.mkdir(tmp, { recursive: true });
  for (const f of [...SHIPPED_FILES, "manifest.json"])
    await fs.copyFile(path.join(from, f), path.join(tmp, f)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT" || SHIPPED_FILES.includes(f)) throw e;
    });
  await fs.rm(dir, { recursive: true, force: true });
  await fs.rename(tmp, dir);
  return true;
}

/**
 * Creates the default model folder if it does not exist (or holds the old random-weights default):
 * a copy of the shipped demo model. `trainSteps` > 0 instead trains a fresh one for that many SFT
 * steps on mini-R1 (random weights with 0 steps when nothing is shipped).
 */
export async function ensureDefaultModel(
  dir: string,
  opts: {
    trainSteps?: number;
    config?: Partial<ModelConfigInput>;
    seed?: number;
    log?: (m: string) => void;
  } = {},
): Promise<string> {
  const meta = await readCheckpointMeta(dir).catch(() => null);
  // a default created before the demo model was shipped: random weights, replaced
  const stale = meta?.origin === "random init (tiny preset)" && !opts.trainSteps;
  if (meta && !stale) return dir;
  if (!opts.trainSteps && !opts.config) {
    await fs.mkdir(path.dirname(dir), { recursive: true });
    if (await copyShippedModel(dir)) {
      opts.log?.(`created the default model ${DEFAULT_MODEL_ID} at ${dir} (the shipped demo model)`);
      return dir;
    }
  }
  const problems = miniR1.makeProblems(opts.seed ?? 0, 400, { difficulty: 2 });
  const tokenizer = BpeTokenizer.train(miniR1.corpus(problems), PRESETS.tiny.vocabSize);
  const model = createPolicy(
    { ...PRESETS.tiny, ...opts.config, vocabSize: tokenizer.vocabSize },
    opts.seed ?? 0,
  );
  try {
    let trained = 0;
    if (opts.trainSteps && opts.trainSteps > 0) {
      const r = await trainSFT({
        model,
        tokenizer,
        data: miniR1.sftExamples(problems),
        config: { steps: opts.trainSteps, lr: 1e-3, batchSize: 8 },
      });
      trained = r.steps;
    }
    await fs.mkdir(path.dirname(dir), { recursive: true });
    await saveCheckpoint(dir, {
      model,
      tokenizer,
      meta: {
        name: DEFAULT_MODEL_ID,
        origin: trained ? `mini-R1 SFT, ${trained} steps` : "random init (tiny preset)",
      },
    });
    opts.log?.(
      `created the default model ${DEFAULT_MODEL_ID} at ${dir} (${trained ? `${trained} SFT steps` : "random weights"})`,
    );
  } finally {
    disposeModel(model);
  }
  return dir;
}

export interface RegistryOptions {
  /** Static entries (a --checkpoint folder, the default model). */
  fixed: ServedModel[];
  /** Promoted checkpoints from the database (omitted when serving without one). */
  listDatabase?: () => Promise<ServedModel[]>;
  maxLoaded?: number;
  /** How long a database listing is reused, ms (default 10 s). */
  refreshMs?: number;
  log?: (m: string) => void;
}

export class ModelRegistry {
  private dbEntries: ServedModel[] = [];
  private listedAt = 0;
  private loaded = new Map<string, { p: Promise<LoadedModel>; lastUsed: number; inUse: number }>();

  constructor(private readonly o: RegistryOptions) {}

  async list(force = false): Promise<ServedModel[]> {
    if (this.o.listDatabase && (force || Date.now() - this.listedAt > (this.o.refreshMs ?? 10_000))) {
      try {
        this.dbEntries = await this.o.listDatabase();
        this.listedAt = Date.now();
      } catch (e) {
        this.o.log?.(`could not list checkpoints from the database: ${(e as Error).message}`);
      }
    }
    const seen = new Set<string>();
    const out: ServedModel[] = [];
    for (const m of [...this.o.fixed, ...this.dbEntries]) {
      if (seen.has(m.id)) continue;
      seen.add(m.id);
      out.push(m);
    }
    return out;
  }

  async find(id: string): Promise<ServedModel | null> {
    let hit = (await this.list()).find((m) => m.id === id);
    if (!hit && this.o.listDatabase) hit = (await this.list(true)).find((m) => m.id === id); // just promoted?
    return hit ?? null;
  }

  /** Loads (or reuses) a model; call the returned release() when the request is done. */
  async acquire(entry: ServedModel): Promise<{ loaded: LoadedModel; release: () => void }> {
    const key = `${entry.id}\u0000${entry.path}`;
    let slot = this.loaded.get(key);
    if (!slot) {
      const p = (async () => {
        const ck = await loadCheckpoint(entry.path);
        if (ck.kind !== "policy") {
          if (ck.model) disposeModel(ck.model);
          throw new Error(
            `checkpoint ${entry.path} holds a ${ck.kind} model; only policy checkpoints generate text`,
          );
        }
        this.o.log?.(`loaded ${entry.id} from ${entry.path}`);
        return { entry, model: ck.model, tokenizer: ck.tokenizer };
      })();
      slot = { p, lastUsed: Date.now(), inUse: 0 };
      this.loaded.set(key, slot);
      p.catch(() => this.loaded.delete(key));
    }
    slot.inUse++;
    slot.lastUsed = Date.now();
    let loaded: LoadedModel;
    try {
      loaded = await slot.p;
    } catch (e) {
      slot.inUse--;
      throw e;
    }
    this.evict();
    const s = slot;
    let done = false;
    return {
      loaded,
      release: () => {
        if (done) return;
        done = true;
        s.inUse--;
        s.lastUsed = Date.now();
        this.evict();
      },
    };
  }

  private evict(): void {
    const max = this.o.maxLoaded ?? 3;
    if (this.loaded.size <= max) return;
    const idle = [...this.loaded.entries()]
      .filter(([, s]) => s.inUse === 0)
      .sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [key, s] of idle) {
      if (this.loaded.size <= max) break;
      this.loaded.delete(key);
      void s.p.then((l) => disposeModel(l.model)).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    for (const s of this.loaded.values()) await s.p.then((l) => disposeModel(l.model)).catch(() => undefined);
    this.loaded.clear();
  }
}
