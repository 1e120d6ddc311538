// Generation on the `cuda` backend without a GPU: tests/gpu/decode.gpu.ts (the engine's KV-cache
// logits vs a full forward pass, greedy tokens vs the CPU, per-row stopping and seeds) over the
// JavaScript emulation of the addon's decode engine (trainer/cuda/emulator-decode.ts).
import { registerCudaBackend } from "../../../trainer/cuda/backend";
import { createEmulatedAddon } from "../../../trainer/cuda/emulator";
import "../../gpu/decode.gpu";

registerCudaBackend(createEmulatedAddon(), "an emulated device (trainer/cuda/emulator.ts)");
