// `npm run build:trainer [-- OUTDIR]`: bundles the trainer service (server/processes/trainer.ts)
// into one CommonJS file for a GPU box that has Node.js and a DATABASE_URL but no node_modules
// (default OUTDIR dist/trainer). Beside it: the CUDA source and Node-API headers (the cuda
// backend builds its addon there on first use), tfjs-backend-wasm's binaries. Then
//   ../shared/device/stage.sh dist/trainer/*     (the H200 machine)   or copy the folder, and
//   DATABASE_URL=postgres://... node trainer.cjs
// esbuild notes (../shared/docs/ENVIRONMENT.md): --ignore-annotations keeps tfjs's backend
// registrations; webgpu (Dawn) is loaded at run time from DAWN_NODE_PATH; tfjs-node stays optional.
import { build } from "esbuild";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ensurePrismaClient } from "./prisma.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.resolve(process.argv[2] ?? path.join(root, "dist", "trainer"));
ensurePrismaClient();
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(path.join(out, "node-api-headers"), { recursive: true });
await build({
  entryPoints: [path.join(root, "server/processes/trainer.ts")],
  outfile: path.join(out, "trainer.cjs"),
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  ignoreAnnotations: true,
  external: ["webgpu", "@tensorflow/tfjs-node", "@tensorflow/tfjs-node-gpu"],
  alias: { "@": root, "server-only": path.join(root, "tests/helpers/server-only-stub.ts") },
  logLevel: "error",
  plugins: [
    {
      // trainer.ts loads the training-rounds service through a variable path (optional feature);
      // a bundle must contain it, so make that import literal here.
      name: "literal-training-service",
      setup(b) {
        b.onLoad({ filter: /server[\\/]processes[\\/]trainer\.ts$/ }, (args) => {
          const src = fs.readFileSync(args.path, "utf8");
          const fixed = src.replace("await import(modulePath)", 'await import("../training/service")');
          if (fixed === src)
            throw new Error("build-trainer: server/processes/trainer.ts changed; update the plugin");
          return { contents: fixed, loader: "ts" };
        });
      },
    },
  ],
});
for (const f of ["pairwise_cuda.cu", "pairwise_decode.cuh"])
  fs.copyFileSync(path.join(root, "trainer/cuda", f), path.join(out, f));
const hdr = path.join(root, "node_modules/node-api-headers/include");
for (const f of fs.readdirSync(hdr))
  fs.copyFileSync(path.join(hdr, f), path.join(out, "node-api-headers", f));
const wasm = path.join(root, "node_modules/@tensorflow/tfjs-backend-wasm/dist");
for (const f of fs.readdirSync(wasm).filter((f) => f.endsWith(".wasm")))
  fs.copyFileSync(path.join(wasm, f), path.join(out, f));
// the Prisma client loads its query compiler from node_modules/.prisma/client beside the bundle
const prismaDir = path.join(out, "node_modules/.prisma/client");
fs.mkdirSync(prismaDir, { recursive: true });
for (const f of fs
  .readdirSync(path.join(root, "node_modules/.prisma/client"))
  .filter((f) => f.endsWith(".wasm")))
  fs.copyFileSync(path.join(root, "node_modules/.prisma/client", f), path.join(prismaDir, f));
const mb = fs.statSync(path.join(out, "trainer.cjs")).size / 2 ** 20;
console.log(
  `bundled ${path.relative(root, out)}/trainer.cjs (${mb.toFixed(1)} MB) with the CUDA source, headers and wasm files`,
);
