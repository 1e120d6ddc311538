// The `cuda` backend's TypeScript side on a machine without a GPU: the same suite the GPU machine
// runs (tests/gpu/cuda.gpu.ts: kernels vs cpu, the GPT's logits and gradients per precision,
// training steps, the caching allocator), over a JavaScript emulation of the CUDA addon
// (trainer/cuda/emulator.ts). The CUDA kernels themselves are tested on the GPU machine only.
import { registerCudaBackend } from "../../../trainer/cuda/backend";
import { createEmulatedAddon } from "../../../trainer/cuda/emulator";
import "../../gpu/cuda.gpu";

registerCudaBackend(createEmulatedAddon(), "an emulated device (trainer/cuda/emulator.ts)");
