// The world every training test file needs: the WASM backend, an isolated database, and a
// temporary checkpoint folder that PAIRWISE_CHECKPOINT_DIR points at; all torn down after the file.
// Call at the top level of a test file; read `tdb` and `root` inside tests.
import { afterAll, beforeAll } from "vitest";
import { promises as fs } from "node:fs";
import { selectBackend } from "@/trainer";
import { createTestDatabase, type TestDatabase } from "@/tests/helpers/db";
import { resetEnvForTests } from "@/server/env";
import { tempCheckpointRoot } from "./fixtures";

export interface TrainingEnvironment {
  tdb: TestDatabase;
  root: string;
}

export function useTrainingEnvironment(
  opts: { backend?: boolean; beforeClose?: () => Promise<void> } = {},
): TrainingEnvironment {
  const env = {} as TrainingEnvironment;
  beforeAll(async () => {
    if (opts.backend !== false) await selectBackend({ force: "wasm", log: () => {} });
    env.tdb = await createTestDatabase();
    env.root = await tempCheckpointRoot();
    process.env.PAIRWISE_CHECKPOINT_DIR = env.root;
    resetEnvForTests();
  });
  afterAll(async () => {
    await opts.beforeClose?.();
    await env.tdb?.close();
    if (env.root) await fs.rm(env.root, { recursive: true, force: true });
  });
  return env;
}
