// `npm run build:cuda [-- --force]`: builds the cuda backend's addon (trainer/cuda/pairwise_cuda.cu)
// for this machine's GPU ahead of time, into the cache the trainer loads it from on first use
// (~/.cache/pairwise/cuda/<hash of the sources, nvcc, GPU architecture and flags>/, or
// PAIRWISE_CUDA_CACHE). Needs an NVIDIA GPU and nvcc (PAIRWISE_NVCC to pick one).
import { register } from "tsx/esm/api";

register();
const { buildCudaAddon, CudaUnavailable } = await import("../trainer/cuda/build.ts");
try {
  const b = buildCudaAddon({
    force: process.argv.includes("--force"),
    nvcc: process.env.PAIRWISE_NVCC || undefined,
    cacheDir: process.env.PAIRWISE_CUDA_CACHE || undefined,
    log: console.log,
  });
  console.log(`${b.built ? "built" : "up to date"}: ${b.addonPath} (${b.gpu}, ${b.arch}, ${b.nvcc})`);
} catch (e) {
  console.error(`build:cuda: ${e instanceof CudaUnavailable ? "cannot build here: " : ""}${e.message}`);
  process.exit(1);
}
