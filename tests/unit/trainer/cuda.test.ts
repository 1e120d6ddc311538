// The cuda backend on a machine without an NVIDIA GPU or nvcc (CI, this machine): selection says
// why in one line and falls back as before; forcing it fails with that reason; the addon's build
// key depends on its source.
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { selectBackend } from "../../../trainer/index";
import { CudaUnavailable, buildCudaAddon, cudaSourcePath, probeGpu } from "../../../trainer/cuda/build";

const hasGpu = !spawnSync("nvidia-smi", ["-L"]).error;

describe.skipIf(hasGpu)("cuda backend without a GPU", () => {
  it("says why in one line, then falls back to the next backend", async () => {
    const lines: string[] = [];
    const info = await selectBackend({ log: (m) => lines.push(m) });
    expect(info.name).not.toBe("cuda");
    const cudaLines = lines.filter((l) => l.includes("cuda backend not used"));
    expect(cudaLines).toEqual([
      "[pairwise/trainer] cuda backend not used: no NVIDIA GPU here (nvidia-smi not found)",
    ]);
    expect(cudaLines[0]!.includes("\n")).toBe(false);
    expect(tf.getBackend()).toBe(info.name);
  });

  it("refuses a forced cuda with the same reason", async () => {
    await expect(selectBackend({ force: "cuda", log: () => {} })).rejects.toThrow(
      /Backend "cuda" was forced but is not usable here: no NVIDIA GPU here \(nvidia-smi not found\)/,
    );
    expect(() => probeGpu()).toThrow(CudaUnavailable);
    expect(() => buildCudaAddon()).toThrow(/no NVIDIA GPU/);
  });

  it("finds the CUDA source it builds from", () => {
    expect(cudaSourcePath()).toMatch(/trainer\/cuda\/pairwise_cuda\.cu$/);
  });
});
