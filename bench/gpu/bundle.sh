#!/usr/bin/env bash
# Bundles what the GPU machine runs for the cuda backend into one folder (default
# bench/results/gpu-bundle): the GPU benchmark, the cuda tests, the trainer's unit tests (vitest
# replaced by tests/gpu/vitest-shim.ts), the CUDA source and Node-API headers the addon is built
# from on first use, torch_ref.py and the wasm binaries. Then, from the project root:
# ../shared/device/stage.sh bench/results/gpu-bundle/* ; on the box, from the project root
# (the trainer tests read their fixtures from tests/):
#   source .device/prelude.sh && export PAIRWISE_WASM_DIR=$PWD/.device/app &&
#   node .device/app/cuda-tests.cjs && node .device/app/decode-tests.cjs &&
#   PAIRWISE_TEST_BACKEND=cuda node .device/app/trainer-tests.cjs &&
#   node .device/app/bench-gpu.cjs --out $OUT
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
out=${1:-bench/results/gpu-bundle}
rm -rf "$out" && mkdir -p "$out/node-api-headers"
common=(--bundle --platform=node --format=cjs --target=node20 --ignore-annotations
  --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu --log-level=error
  --inject:tests/gpu/import-meta-url.ts --define:import.meta.url=importMetaUrl)
npx esbuild bench/gpu/run.ts "${common[@]}" --outfile="$out/bench-gpu.cjs"
npx esbuild tests/gpu/cuda.gpu.ts "${common[@]}" --alias:vitest=./tests/gpu/vitest-shim.ts --outfile="$out/cuda-tests.cjs"
npx esbuild tests/gpu/trainer-tests.ts "${common[@]}" --alias:vitest=./tests/gpu/vitest-shim.ts \
  '--define:import.meta.dirname="tests/unit/trainer"' --outfile="$out/trainer-tests.cjs"
npx esbuild bench/trainer/run.ts "${common[@]}" --outfile="$out/bench-trainer.cjs"
npx esbuild tests/gpu/decode.gpu.ts "${common[@]}" --alias:vitest=./tests/gpu/vitest-shim.ts --outfile="$out/decode-tests.cjs"
cp trainer/cuda/pairwise_cuda.cu trainer/cuda/pairwise_decode.cuh "$out/"
cp bench/gpu/hf_generate.py "$out/"
# the code sandbox's QuickJS (quickjs-emscripten) loads its wasm from beside the bundle (import.meta.url)
cp node_modules/@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm "$out/"
cp node_modules/node-api-headers/include/*.h "$out/node-api-headers/"
cp bench/trainer/torch_ref.py "$out/"
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$out/"
du -sh "$out"
