// Backend selection: the best tfjs backend present, in this order:
//   0. CUDA (trainer/cuda/: Pairwise's own addon, built from source on first use where an NVIDIA
//      GPU and nvcc exist; otherwise one line says why and the next backend is tried)
//   1. native TensorFlow (@tensorflow/tfjs-node-gpu, then -node; optional, loaded only if resolvable)
//   2. WebGPU (@tensorflow/tfjs-backend-webgpu on Dawn from the `webgpu` package, if an adapter exists)
//   3. WASM (@tensorflow/tfjs-backend-wasm)
//   4. CPU (pure JS, always there)
// PAIRWISE_TF_BACKEND=cuda|node|webgpu|wasm|cpu forces one (an explicit `force` argument wins over it).
// This is the only file of trainer/ that reads process.env.
//
// Kernels a backend lacks are registered here as JS kernels (see `ensureKernels`), so every model
// op trains everywhere. Known gap: WASM has no UnsortedSegmentSum, which tf.gather's gradient (the
// embedding lookup's) needs.
import * as tf from "@tensorflow/tfjs";
import { createRequire } from "node:module";
import path from "node:path";

export type BackendName = "cuda" | "tensorflow" | "webgpu" | "wasm" | "cpu";
export type CudaPrecision = "fp32" | "tf32" | "bf16";
export interface BackendInfo {
  /** tfjs backend name now active. */
  name: BackendName;
  /** Human-readable detail: package, adapter, threads, why others were skipped. */
  detail: string;
  /** cuda only: the matmul precision (fp32, tf32, or bf16 operands with fp32 accumulation). */
  precision?: CudaPrecision;
}
export interface SelectBackendOptions {
  /** "cuda" | "node" | "tensorflow" | "webgpu" | "wasm" | "cpu". Overrides PAIRWISE_TF_BACKEND. */
  force?: string;
  /** cuda: matmul precision; env PAIRWISE_CUDA_PRECISION; default fp32. */
  precision?: CudaPrecision;
  /** Where the choice is logged (default console.log). */
  log?: (msg: string) => void;
  /** Folder holding tfjs-backend-wasm's *.wasm files (needed when bundled); env PAIRWISE_WASM_DIR. */
  wasmDir?: string;
}

const FORCE_ALIASES: Record<string, BackendName> = {
  cuda: "cuda",
  node: "tensorflow",
  tensorflow: "tensorflow",
  "tfjs-node": "tensorflow",
  webgpu: "webgpu",
  wasm: "wasm",
  cpu: "cpu",
};

// `require` for optional packages: works both as ESM (tsx, vitest) and inside an esbuild .cjs bundle.
const req: NodeRequire =
  typeof require === "function"
    ? require
    : createRequire(import.meta.url ?? path.join(process.cwd(), "x.js"));

/**
 * Fused ops a backend may offer (the cuda backend does: one kernel forward and one backward each).
 * trainer/model.ts and trainer/optim.ts use them when `fusedOps()` returns them and keep the
 * composite tfjs ops otherwise; each has exactly the definition of the composite it replaces.
 */
export interface FusedOps {
  /** LayerNorm over the last axis: (x - mean) / sqrt(var + eps) * g + b. */
  layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor;
  /** GELU, tanh approximation. */
  gelu(x: tf.Tensor): tf.Tensor;
  /** softmax(scale * scores + causal mask) over the last axis of (..., T, S): query t sees keys 0..S-T+t. */
  causalSoftmax(scores: tf.Tensor, scale: number): tf.Tensor;
  /** log_softmax(logits)[target] per position: logits (..., V), targets (...) int32 -> (...). */
  tokenLogProbs(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor;
  /** AdamW over every parameter in one launch, in place; false if it cannot (then the caller does it). */
  adamw(
    params: Map<string, tf.Variable>,
    grads: Map<string, tf.Tensor>,
    m: Map<string, tf.Variable>,
    v: Map<string, tf.Variable>,
    h: {
      lr: number;
      beta1: number;
      beta2: number;
      eps: number;
      weightDecay: number;
      bc1: number;
      bc2: number;
    },
  ): boolean;
  /** As optim.clipByGlobalNorm, with the norm and the scaling on the device in one pass. */
  clipByGlobalNorm(
    grads: Map<string, tf.Tensor>,
    maxNorm: number,
    scaleBy: number,
  ): { grads: Map<string, tf.Tensor>; norm: tf.Scalar };
}

let cudaFused: FusedOps | null = null;
let fusedDisabled = false;

/** The active backend's fused ops, or null (every backend but cuda; or PAIRWISE_CUDA_FUSED=0). */
export function fusedOps(): FusedOps | null {
  return cudaFused && !fusedDisabled && tf.getBackend() === "cuda" ? cudaFused : null;
}

/** Turns the cuda backend's fused ops off (true) or on again (to compare or profile them). */
export function disableFusedOps(off: boolean): void {
  fusedDisabled = off;
}

let current: BackendInfo | null = null;
let pending: Promise<BackendInfo> | null = null;
const initialised = new Map<BackendName, string>(); // backends already set up -> detail

/**
 * Picks and activates the tfjs backend. Idempotent: later calls return the active backend, unless
 * they force a different one, in which case that one is set up and activated.
 */
export async function selectBackend(opts: SelectBackendOptions = {}): Promise<BackendInfo> {
  // PAIRWISE_TEST_BACKEND=cuda runs the trainer's unit tests (which force "cpu") on that backend
  // instead: tests/gpu/bundle.sh uses it on the GPU machine.
  const testBackend = process.env.PAIRWISE_TEST_BACKEND;
  const forcedRaw =
    (opts.force === "cpu" && testBackend ? testBackend : opts.force) ?? process.env.PAIRWISE_TF_BACKEND ?? "";
  const forced = forcedRaw ? FORCE_ALIASES[forcedRaw.toLowerCase()] : undefined;
  if (forcedRaw && !forced) {
    throw new Error(
      `Unknown tfjs backend "${forcedRaw}" (from ${opts.force ? "force" : "PAIRWISE_TF_BACKEND"}). ` +
        `Use one of: cuda, node, webgpu, wasm, cpu.`,
    );
  }
  if (pending) await pending.catch(() => undefined);
  if (current && (!forced || forced === current.name)) return current;
  pending = doSelect(forced, opts);
  try {
    current = await pending;
    return current;
  } finally {
    pending = null;
  }
}

/** The active backend (null before the first `selectBackend`). */
export function activeBackend(): BackendInfo | null {
  return current;
}

async function doSelect(forced: BackendName | undefined, opts: SelectBackendOptions): Promise<BackendInfo> {
  const log = opts.log ?? ((m: string) => console.log(m));
  const order: BackendName[] = forced ? [forced] : ["cuda", "tensorflow", "webgpu", "wasm", "cpu"];
  const skipped: string[] = [];
  for (const name of order) {
    try {
      const detail = initialised.get(name) ?? (await setUp(name, opts));
      initialised.set(name, detail);
      const ok = await tf.setBackend(name);
      if (!ok) throw new Error(`tf.setBackend("${name}") returned false`);
      await tf.ready();
      ensureKernels(name);
      const precision = name === "cuda" ? setCudaPrecision(opts.precision ?? envPrecision()) : undefined;
      const info: BackendInfo = {
        name,
        detail:
          detail +
          (precision ? `, precision ${precision}` : "") +
          (skipped.length ? ` (skipped: ${skipped.join("; ")})` : "") +
          (forced ? " [forced]" : ""),
        ...(precision ? { precision } : {}),
      };
      log(`[pairwise/trainer] tfjs backend: ${info.name} - ${info.detail}`);
      return info;
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      if (forced) {
        throw new Error(`Backend "${name}" was forced but is not usable here: ${why}`);
      }
      if (name === "cuda") log(`[pairwise/trainer] cuda backend not used: ${why.split("\n")[0]}`);
      skipped.push(`${name}: ${why.split("\n")[0]}`);
    }
  }
  throw new Error(`No tfjs backend could be initialised: ${skipped.join("; ")}`);
}

function envPrecision(): CudaPrecision {
  const p = (process.env.PAIRWISE_CUDA_PRECISION ?? "fp32").toLowerCase();
  if (p !== "fp32" && p !== "tf32" && p !== "bf16") {
    throw new Error(`PAIRWISE_CUDA_PRECISION must be fp32, tf32 or bf16 (got "${p}")`);
  }
  return p;
}

/**
 * Sets the cuda backend's matmul precision (fp32, tf32, or bf16 operands with fp32 accumulation;
 * weights, optimizer state and every other op stay fp32). Returns it; no-op on other backends.
 */
export function setCudaPrecision(p: CudaPrecision): CudaPrecision | undefined {
  if (tf.getBackend() !== "cuda") return undefined;
  (tf.backend() as unknown as { setPrecision(p: CudaPrecision): void }).setPrecision(p);
  if (current?.name === "cuda") {
    current = { ...current, precision: p, detail: current.detail.replace(/precision \w+/, `precision ${p}`) };
  }
  return p;
}

async function setUp(name: BackendName, opts: SelectBackendOptions): Promise<string> {
  switch (name) {
    case "cuda": {
      const { registerCudaBackend, registeredCudaDevice } = await import("./cuda/backend");
      fusedDisabled = process.env.PAIRWISE_CUDA_FUSED === "0";
      cudaFused = (await import("./cuda/fused")).createFusedOps();
      const pre = registeredCudaDevice(); // already registered (e.g. over the emulator in tests)
      if (pre) return `Pairwise CUDA backend on ${pre}`;
      const { loadCudaAddon } = await import("./cuda/build");
      const log = opts.log ?? ((m: string) => console.log(m));
      const { addon, device, build } = loadCudaAddon({
        nvcc: process.env.PAIRWISE_NVCC || undefined,
        cacheDir: process.env.PAIRWISE_CUDA_CACHE || undefined,
        log,
      });
      registerCudaBackend(addon, device);
      return `Pairwise CUDA addon on ${device} (${build.built ? "built" : "cached"}: ${build.addonPath})`;
    }
    case "tensorflow": {
      for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
        let resolved: string;
        try {
          resolved = req.resolve(pkg);
        } catch {
          continue; // not installed (optionalDependency); try the next one
        }
        req(resolved); // registers the "tensorflow" backend with the shared tfjs-core
        return `${pkg} (native libtensorflow)`;
      }
      throw new Error("neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed");
    }
    case "webgpu": {
      const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
      if (!g.navigator?.gpu) {
        // Dawn for Node. On a GPU box without node_modules, DAWN_NODE_PATH names the unpacked addon.
        let dawn: { create: (flags: string[]) => unknown; globals: Record<string, unknown> };
        const dawnPath = process.env.DAWN_NODE_PATH;
        if (dawnPath) dawn = req(dawnPath) as typeof dawn;
        else dawn = (await import("webgpu")) as unknown as typeof dawn;
        Object.assign(globalThis, dawn.globals);
        // navigator may be a getter-only global in newer Node; define it explicitly.
        Object.defineProperty(globalThis, "navigator", {
          value: { ...(g.navigator ?? {}), gpu: dawn.create([]) },
          configurable: true,
          writable: true,
        });
      }
      const gpu = (
        globalThis as unknown as { navigator: { gpu: { requestAdapter(o?: object): Promise<unknown> } } }
      ).navigator.gpu;
      const adapter = (await gpu.requestAdapter({ powerPreference: "high-performance" })) as {
        info?: { vendor?: string; architecture?: string; device?: string; description?: string };
      } | null;
      if (!adapter) throw new Error("no WebGPU adapter (no GPU or no Vulkan loader)");
      // Must be imported only now: it registers itself only if navigator.gpu exists at import time.
      await import("@tensorflow/tfjs-backend-webgpu");
      const i = adapter.info ?? {};
      return `@tensorflow/tfjs-backend-webgpu on Dawn (${[i.vendor, i.architecture, i.device, i.description]
        .filter(Boolean)
        .join(" ")})`;
    }
    case "wasm": {
      const wasm = await import("@tensorflow/tfjs-backend-wasm");
      const dir = opts.wasmDir ?? process.env.PAIRWISE_WASM_DIR;
      if (dir) wasm.setWasmPaths(dir.endsWith("/") ? dir : dir + "/");
      return `@tensorflow/tfjs-backend-wasm${dir ? ` (wasm files from ${dir})` : ""}`;
    }
    case "cpu":
      return "@tensorflow/tfjs-backend-cpu (pure JS)";
  }
}

// ---------------------------------------------------------------------------------------------
// Missing kernels, implemented in JS over the backend's readSync / makeTensorInfo. They move data
// to JS and back (a sync point), so they are only registered where the backend has no kernel.

interface JsBackend {
  readSync(dataId: object): ArrayLike<number>;
  // CPU-like backends
  makeTensorInfo?(shape: number[], dtype: tf.DataType, values: Float32Array | Int32Array): tf.TensorInfo;
  // WASM: allocate in the wasm heap, then fill through a view of it
  makeOutput?(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap?(t: tf.TensorInfo): Float32Array;
}

function jsOutput(be: JsBackend, shape: number[], values: Float32Array): tf.TensorInfo {
  if (be.makeOutput && be.typedArrayFromHeap) {
    const out = be.makeOutput(shape, "float32");
    be.typedArrayFromHeap(out).set(values);
    return out;
  }
  if (be.makeTensorInfo) return be.makeTensorInfo(shape, "float32", values);
  throw new Error("backend can host no JS kernel (no makeOutput / makeTensorInfo)");
}

/** Registers JS fallbacks for kernels the model needs but `backend` lacks. Safe to call repeatedly. */
export function ensureKernels(backend: string): string[] {
  const added: string[] = [];
  if (!tf.getKernel("UnsortedSegmentSum", backend)) {
    tf.registerKernel({
      kernelName: "UnsortedSegmentSum",
      backendName: backend,
      kernelFunc: ({ inputs, backend: b, attrs }) => {
        const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
        const { numSegments } = attrs as unknown as { numSegments: number };
        const be = b as unknown as JsBackend;
        const xs = be.readSync(x.dataId);
        const ids = be.readSync(segmentIds.dataId);
        const inner = x.shape.slice(segmentIds.shape.length).reduce((a, c) => a * c, 1);
        const out = new Float32Array(numSegments * inner);
        for (let i = 0; i < ids.length; i++) {
          const s = ids[i] as number;
          if (s < 0 || s >= numSegments) continue; // TF semantics: out-of-range ids are dropped
          const o = s * inner;
          const xi = i * inner;
          for (let j = 0; j < inner; j++) out[o + j] = (out[o + j] as number) + (xs[xi + j] as number);
        }
        return jsOutput(be, [numSegments, ...x.shape.slice(segmentIds.shape.length)], out);
      },
    });
    added.push("UnsortedSegmentSum");
  }
  return added;
}
