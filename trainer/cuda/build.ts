// Builds the CUDA addon from source on first use and caches it by a hash of everything that goes
// into it (as PyTorch's C++ extensions do): the .cu source, nvcc's version, the GPU architecture,
// the flags and the Node-API headers. `npm run build:cuda` runs the same build ahead of time.
//
// Needs an NVIDIA GPU (seen through nvidia-smi) and nvcc; without either, `probeCuda` says why in
// one short sentence and the trainer falls back to the other backends.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import type { CudaAddon } from "./addon";

export const CUDA_SOURCE = "pairwise_cuda.cu";

export interface CudaBuildOptions {
  /** nvcc to use (default: PATH, then /usr/local/cuda/bin/nvcc). */
  nvcc?: string;
  /** Cache folder (default ~/.cache/pairwise/cuda). */
  cacheDir?: string;
  /** Folder holding pairwise_cuda.cu (default: found beside this file or the bundle). */
  sourceDir?: string;
  /** Rebuild even if a cached build exists. */
  force?: boolean;
  log?: (msg: string) => void;
}

export interface CudaBuild {
  addonPath: string;
  /** true when this call compiled it (false: taken from the cache). */
  built: boolean;
  arch: string;
  gpu: string;
  nvcc: string;
  seconds: number;
}

/** Thrown when this machine cannot run the cuda backend; the message is the one-line reason. */
export class CudaUnavailable extends Error {}

const req: NodeRequire =
  typeof require === "function"
    ? require
    : createRequire(import.meta.url ?? path.join(process.cwd(), "x.js"));

function here(): string[] {
  const dirs: string[] = [];
  try {
    if (typeof __dirname === "string") dirs.push(__dirname, path.join(__dirname, "cuda"));
  } catch {
    /* ESM: no __dirname */
  }
  try {
    const u = import.meta.url;
    if (u) dirs.push(path.dirname(new URL(u).pathname));
  } catch {
    /* CJS bundle: no import.meta */
  }
  dirs.push(path.join(process.cwd(), "trainer", "cuda"));
  return dirs;
}

function run(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 300_000 });
  if (r.error) return { ok: false, out: r.error.message };
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

/** The GPU's name and compute capability through nvidia-smi, or a CudaUnavailable. */
export function probeGpu(): { gpu: string; arch: string } {
  const r = run("nvidia-smi", ["--query-gpu=name,compute_cap", "--format=csv,noheader"]);
  if (!r.ok) {
    if (/ENOENT/.test(r.out)) throw new CudaUnavailable("no NVIDIA GPU here (nvidia-smi not found)");
    throw new CudaUnavailable(`no usable NVIDIA GPU (nvidia-smi: ${r.out.trim().split("\n")[0]})`);
  }
  const line = r.out.trim().split("\n")[0] ?? "";
  const [name, cap] = line.split(",").map((s) => s.trim());
  if (!name || !cap || !/^\d+\.\d+$/.test(cap))
    throw new CudaUnavailable(`nvidia-smi listed no GPU (${line})`);
  return { gpu: name, arch: `sm_${cap.replace(".", "")}` };
}

/** nvcc's path and version line, or a CudaUnavailable. */
export function findNvcc(explicit?: string): { nvcc: string; version: string } {
  const candidates = explicit ? [explicit] : ["nvcc", "/usr/local/cuda/bin/nvcc"];
  for (const c of candidates) {
    const r = run(c, ["--version"]);
    if (r.ok) return { nvcc: c, version: r.out.trim().split("\n").pop() ?? "" };
  }
  throw new CudaUnavailable(
    `nvcc not found (${candidates.join(", ")}): install the CUDA toolkit or set PAIRWISE_NVCC`,
  );
}

function nodeApiInclude(): string {
  const dirs: string[] = [];
  try {
    dirs.push(path.join(path.dirname(req.resolve("node-api-headers/package.json")), "include"));
  } catch {
    /* bundled: no node_modules */
  }
  for (const d of here()) dirs.push(path.join(d, "node-api-headers"));
  dirs.push(path.join(path.dirname(process.execPath), "..", "include", "node"));
  for (const d of dirs) if (fs.existsSync(path.join(d, "node_api.h"))) return d;
  throw new CudaUnavailable(`Node-API headers not found (looked in ${dirs.join(", ")})`);
}

export function cudaSourcePath(sourceDir?: string): string {
  const dirs = sourceDir ? [sourceDir] : here();
  for (const d of dirs) {
    const p = path.join(d, CUDA_SOURCE);
    if (fs.existsSync(p)) return p;
  }
  throw new CudaUnavailable(`${CUDA_SOURCE} not found (looked in ${dirs.join(", ")})`);
}

/** Builds (or finds in the cache) the addon for this machine's GPU. Throws CudaUnavailable. */
export function buildCudaAddon(opts: CudaBuildOptions = {}): CudaBuild {
  const t0 = performance.now();
  const { gpu, arch } = probeGpu();
  const { nvcc, version } = findNvcc(opts.nvcc);
  const src = cudaSourcePath(opts.sourceDir);
  const include = nodeApiInclude();
  const cudaRoot = path.dirname(path.dirname(fs.realpathSync(whichSync(nvcc) ?? nvcc)));
  const libDirs = ["lib64", "lib"].map((l) => path.join(cudaRoot, l)).filter((d) => fs.existsSync(d));
  const flags = [
    "-O3",
    "-std=c++17",
    "-shared",
    "-Xcompiler",
    "-fPIC",
    `-arch=${arch}`,
    "-I",
    include,
    src,
    "-lcublas",
    ...libDirs.flatMap((d) => ["-Xlinker", `-rpath=${d}`]),
  ];
  const hash = createHash("sha256");
  hash.update(fs.readFileSync(src));
  // headers the source includes (pairwise_decode.cuh), beside it
  for (const f of fs
    .readdirSync(path.dirname(src))
    .filter((f) => f.endsWith(".cuh"))
    .sort())
    hash.update(fs.readFileSync(path.join(path.dirname(src), f)));
  hash.update(fs.readFileSync(path.join(include, "node_api.h")));
  hash.update(JSON.stringify({ version, arch, flags: flags.filter((f) => f !== src && f !== include) }));
  const key = hash.digest("hex").slice(0, 16);
  const cacheDir = opts.cacheDir ?? path.join(os.homedir(), ".cache", "pairwise", "cuda");
  const outDir = path.join(cacheDir, key);
  const addonPath = path.join(outDir, "pairwise_cuda.node");
  if (!opts.force && fs.existsSync(addonPath)) {
    return { addonPath, built: false, arch, gpu, nvcc, seconds: (performance.now() - t0) / 1000 };
  }
  fs.mkdirSync(outDir, { recursive: true });
  const tmp = path.join(outDir, `pairwise_cuda.${process.pid}.tmp.node`);
  opts.log?.(`[pairwise/trainer] cuda: building the addon for ${gpu} (${arch}) with ${nvcc} (${version})`);
  const r = run(nvcc, [...flags, "-o", tmp]);
  if (!r.ok) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`nvcc failed building ${src}:\n${r.out.slice(-4000)}`);
  }
  fs.renameSync(tmp, addonPath);
  const seconds = (performance.now() - t0) / 1000;
  opts.log?.(`[pairwise/trainer] cuda: built ${addonPath} in ${seconds.toFixed(1)} s`);
  return { addonPath, built: true, arch, gpu, nvcc, seconds };
}

function whichSync(cmd: string): string | null {
  if (cmd.includes("/")) return cmd;
  for (const d of (process.env.PATH ?? "").split(path.delimiter)) {
    const p = path.join(d, cmd);
    if (d && fs.existsSync(p)) return p;
  }
  return null;
}

/** Builds if needed, loads and initialises the addon. Throws CudaUnavailable or the build error. */
export function loadCudaAddon(opts: CudaBuildOptions = {}): {
  addon: CudaAddon;
  device: string;
  build: CudaBuild;
} {
  const build = buildCudaAddon(opts);
  const addon = req(build.addonPath) as CudaAddon;
  const device = addon.init(0);
  return { addon, device, build };
}
