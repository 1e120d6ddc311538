#!/usr/bin/env bash
# Bundles scripts/hf-gpu-round.ts (a whole training round on a Hugging Face base folder, with an
# in-memory embedded database) for the GPU machine, which has no Node.js packages and no
# PostgreSQL: the bundle, PGlite's package (its wasm and data files are loaded from beside its
# code, so it stays outside the bundle), the Prisma query compiler, the migrations matching it, the CUDA source and Node-API
# headers the cuda addon is built from on first use, and tfjs's wasm binaries. Then, from the
# project root: ../shared/device/stage.sh bench/results/hf-bundle/* and on the box
#   source .device/prelude.sh && python3 scripts/hf-fixtures.py --qwen05b /tmp/q05 &&
#   node .device/app/hf-gpu-round.cjs --base /tmp/q05 --out /tmp/round --migrations .device/app/migrations &&
#   python3 scripts/hf-verify.py /tmp/round/verify
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
out=${1:-bench/results/hf-bundle}
rm -rf "$out" && mkdir -p "$out/node-api-headers" "$out/node_modules/@electric-sql/pglite"
npx esbuild scripts/hf-gpu-round.ts --bundle --platform=node --format=cjs --target=node20 --ignore-annotations \
  --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
  --external:@electric-sql/pglite --alias:@=. --alias:server-only=./tests/helpers/server-only-stub.ts \
  --define:import.meta.dirname=__dirname --log-level=error --outfile="$out/hf-gpu-round.cjs"
pg=node_modules/@electric-sql/pglite
cp -r "$pg/package.json" "$pg/dist" "$out/$pg/"
find "$out/$pg/dist" \( -name '*.map' -o -name '*.tar.gz' -o -name '*.d.ts' -o -name '*.d.cts' \) -delete
# the bundled Prisma client looks for its query compiler beside the bundle when schema.prisma is there
cp node_modules/.prisma/client/schema.prisma node_modules/.prisma/client/*.wasm "$out/"
cp -r prisma/migrations "$out/"
cp trainer/cuda/pairwise_cuda.cu "$out/"
cp node_modules/node-api-headers/include/*.h "$out/node-api-headers/"
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$out/"
du -sh "$out"
