#!/usr/bin/env bash
# Bundles the trainer benchmark into one .cjs for a machine without node_modules (the GPU box),
# with the tfjs-backend-wasm binaries beside it. --ignore-annotations keeps tfjs's backend
# registration (its modules are marked side-effect-free); webgpu (Dawn) is loaded on the box from
# DAWN_NODE_PATH; tfjs-node is optional and never bundled.
#   bench/trainer/bundle.sh [outdir=bench/results/bundle]
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
out=${1:-bench/results/bundle}
mkdir -p "$out"
npx esbuild bench/trainer/run.ts --bundle --platform=node --format=cjs --target=node20 --ignore-annotations \
  --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
  --log-level=error --outfile="$out/bench.cjs"
npx esbuild bench/trainer/miniR1_sft.ts --bundle --platform=node --format=cjs --target=node20 --ignore-annotations \
  --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
  --log-level=error --outfile="$out/minir1.cjs"
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$out/"
cp bench/trainer/torch_ref.py "$out/"
# one copy of tfjs-core in the bundle
n=$(grep -c "^// node_modules/@tensorflow/tfjs-core/dist/tf-core" "$out/bench.cjs" || true)
echo "bundled $out/bench.cjs ($(du -h "$out/bench.cjs" | cut -f1)), tfjs-core engine copies: $n"
