// The tfjs `cuda` backend: tensors live in GPU memory (one float32 buffer each, from the addon's
// caching allocator) and the kernels the trainer's models use run as CUDA kernels or cuBLAS calls
// on one stream. It extends tfjs's CPU backend, so every kernel without a CUDA version still runs:
// its inputs are copied to the host on demand (each tensor keeps a host copy once read) and its
// output is uploaded when a CUDA kernel needs it. Nothing is synchronised except such a download.
//
// Storage: int32 and bool tensors are stored as exact floats on the device (as tfjs-webgl does);
// a host array keeps the tensor's own type.
import * as tf from "@tensorflow/tfjs";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import { BINARY, type CudaAddon, PRECISION_MODE, type Precision, REDUCE, UNARY } from "./addon";

type BackendValues = Float32Array | Int32Array | Uint8Array | Uint8Array[];
type TensorInfo = tf.TensorInfo;
type DataId = object;
const { backend_util, util } = tf;

/** Tensors this small whose inputs all sit on the host are computed by the CPU kernels (no launch). */
const HOST_SIZE = 4096;
/** Most dimensions a strided/broadcast CUDA kernel takes (the rest goes to the CPU kernels). */
const MAX_RANK = 6;

class Entry {
  host: BackendValues | null;
  dev = 0;
  complexTensorInfos?: unknown;
  constructor(
    private readonly be: CudaBackend,
    public dtype: tf.DataType,
    public size: number,
    host: BackendValues | null,
    public refCount = 1,
  ) {
    this.host = host;
  }
  /** The host values (downloads from the device once, then keeps them). */
  get values(): BackendValues {
    if (!this.host) this.host = this.be.download(this);
    return this.host;
  }
  set values(v: BackendValues) {
    this.host = v;
    if (this.dev) this.be.releaseDevice(this);
  }
}

export interface CudaStats {
  /** CUDA kernels launched through this backend, by tfjs kernel name. */
  cuda: Record<string, number>;
  /** Kernels that ran on the CPU fallback, by name (each may have copied its inputs to the host). */
  cpu: Record<string, number>;
  downloads: number;
  uploads: number;
}

export class CudaBackend extends MathBackendCPU {
  readonly addon: CudaAddon;
  readonly deviceName: string;
  precision: Precision = "fp32";
  stats: CudaStats = { cuda: {}, cpu: {}, downloads: 0, uploads: 0 };
  /** The backend's storage, holding Entry objects (host and/or device data). */
  get store(): tf.DataStorage<Entry> {
    return this.data as unknown as tf.DataStorage<Entry>;
  }
  newDataId(): DataId {
    return { id: (this as unknown as { nextDataId(): number }).nextDataId() };
  }

  constructor(addon: CudaAddon, deviceName: string) {
    super();
    this.addon = addon;
    this.deviceName = deviceName;
  }

  count(name: string): void {
    this.stats.cuda[name] = (this.stats.cuda[name] ?? 0) + 1;
  }

  setPrecision(p: Precision): void {
    this.precision = p;
    this.addon.setMath(PRECISION_MODE[p]);
  }

  // ---- storage
  override write(values: BackendValues, shape: number[], dtype: tf.DataType): DataId {
    const dataId = this.newDataId();
    const size = dtype === "string" ? (values as Uint8Array[]).length : util.sizeFromShape(shape);
    this.store.set(dataId, new Entry(this, dtype, size, values));
    return dataId;
  }
  override move(
    dataId: DataId,
    values: BackendValues,
    shape: number[],
    dtype: tf.DataType,
    refCount: number,
  ): void {
    const size = dtype === "string" ? (values as Uint8Array[]).length : util.sizeFromShape(shape);
    this.store.set(dataId, new Entry(this, dtype, size, values, refCount));
  }
  override disposeData(dataId: DataId, force = false): boolean {
    if (this.store.has(dataId)) {
      const e = this.store.get(dataId);
      e.refCount--;
      if (!force && e.refCount > 0) return false;
      if (e.dev) this.releaseDevice(e);
      this.store.delete(dataId);
    }
    return true;
  }
  override memory(): ReturnType<MathBackendCPU["memory"]> {
    const [inUse, reserved, peak, mallocs] = this.addon.memStats();
    return {
      unreliable: false,
      reasons: [],
      numBytesInGPU: inUse,
      numBytesInGPUAllocated: reserved,
      peakBytesInGPU: peak,
      cudaMallocs: mallocs,
    } as ReturnType<MathBackendCPU["memory"]>;
  }
  override async time(f: () => void): Promise<tf.BackendTimingInfo> {
    const t0 = performance.now();
    f();
    this.addon.sync();
    return { kernelMs: performance.now() - t0 };
  }

  download(e: Entry): BackendValues {
    if (!e.dev) throw new Error("cuda backend: a tensor has neither host nor device data");
    const buf = new Float32Array(e.size);
    this.addon.download(e.dev, buf);
    this.stats.downloads++;
    if (e.dtype === "int32") return Int32Array.from(buf);
    if (e.dtype === "bool") return Uint8Array.from(buf);
    return buf;
  }
  releaseDevice(e: Entry): void {
    this.addon.free(e.dev);
    e.dev = 0;
  }

  /** Device pointer of a tensor, uploading its host values first if needed. */
  ptr(t: TensorInfo): number {
    const e = this.store.get(t.dataId);
    if (!e.dev) {
      if (e.dtype === "string" || e.dtype === "complex64")
        throw new Error(`cuda: no device form for ${e.dtype}`);
      const h = e.host as Float32Array | Int32Array | Uint8Array;
      const f = h instanceof Float32Array ? h : Float32Array.from(h);
      e.dev = this.addon.alloc(Math.max(4, e.size * 4));
      if (e.size > 0) this.addon.upload(e.dev, f.length === e.size ? f : f.subarray(0, e.size));
      this.stats.uploads++;
    }
    return e.dev;
  }
  entry(t: TensorInfo): Entry {
    return this.store.get(t.dataId);
  }
  /** A new device tensor (uninitialised). */
  out(shape: number[], dtype: tf.DataType = "float32"): TensorInfo {
    const size = util.sizeFromShape(shape);
    const dataId = this.newDataId();
    const e = new Entry(this, dtype, size, null);
    e.dev = this.addon.alloc(Math.max(4, size * 4));
    this.store.set(dataId, e);
    return { dataId, shape, dtype };
  }
  /** Host value of a one-element tensor whose host copy exists, else undefined (no download). */
  hostScalar(t: TensorInfo): number | undefined {
    if (util.sizeFromShape(t.shape) !== 1) return undefined;
    const e = this.store.get(t.dataId);
    if (!e.host) return undefined;
    return Number((e.host as Float32Array)[0]);
  }
  /** True where a CUDA kernel should run: some input lives only on the device, or is large. */
  wantsDevice(...ts: TensorInfo[]): boolean {
    for (const t of ts) {
      const e = this.store.get(t.dataId);
      if (!e.host || e.size > HOST_SIZE) return true;
    }
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Kernels

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: CudaBackend; attrs?: tf.NamedAttrMap };
/** A CUDA kernel: returns its output(s), or null to let the CPU kernel run instead. */
type CudaKernel = (args: KernelArgs) => TensorInfo | TensorInfo[] | null;

const kernels = new Map<string, CudaKernel>();
const count = (be: CudaBackend, name: string) => (be.stats.cuda[name] = (be.stats.cuda[name] ?? 0) + 1);

const isFloat = (t: TensorInfo) => t.dtype === "float32";
const isNumeric = (t: TensorInfo) => t.dtype === "float32" || t.dtype === "bool" || t.dtype === "int32";

for (const [name, op] of Object.entries(UNARY)) {
  if (name === "Identity" || name === "Trunc" || name === "NonZero" || name === "GeluTanh") continue;
  kernels.set(name, ({ inputs, backend: be, attrs }) => {
    const x = inputs.x as TensorInfo;
    const boolIn = name === "LogicalNot";
    if (boolIn ? x.dtype !== "bool" : !isFloat(x)) return null;
    if (!be.wantsDevice(x)) return null;
    const outType: tf.DataType =
      name === "IsNan" || name === "IsInf" || name === "IsFinite" || boolIn ? "bool" : "float32";
    const y = be.out(x.shape, outType);
    const a = (attrs ?? {}) as Record<string, number>;
    const p0 =
      name === "ClipByValue" ? a.clipValueMin : name === "LeakyRelu" || name === "Step" ? a.alpha : 0;
    const p1 = name === "ClipByValue" ? a.clipValueMax : 0;
    be.addon.unary(op, be.ptr(x), be.ptr(y), util.sizeFromShape(x.shape), p0 ?? 0, p1 ?? 0);
    count(be, name);
    return y;
  });
}

const BOOL_OUT = new Set([
  "Equal",
  "NotEqual",
  "Less",
  "LessEqual",
  "Greater",
  "GreaterEqual",
  "LogicalAnd",
  "LogicalOr",
]);

function binaryKernel(name: string, op: number): CudaKernel {
  return ({ inputs, backend: be }) => {
    const a = (inputs.a ?? inputs.x) as TensorInfo;
    const b = (inputs.b ?? inputs.alpha) as TensorInfo;
    const logical = name === "LogicalAnd" || name === "LogicalOr";
    if (logical ? a.dtype !== "bool" || b.dtype !== "bool" : !isFloat(a) || !isFloat(b)) return null;
    if (!be.wantsDevice(a, b)) return null;
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const n = util.sizeFromShape(outShape);
    const y = be.out(outShape, BOOL_OUT.has(name) ? "bool" : "float32");
    const na = util.sizeFromShape(a.shape);
    const nb = util.sizeFromShape(b.shape);
    const sa = be.hostScalar(a);
    const sb = be.hostScalar(b);
    if ((na === n || na === 1) && (nb === n || nb === 1)) {
      const pa = na === 1 && sa !== undefined ? 0 : na === 1 ? -1 : be.ptr(a);
      const pb = nb === 1 && sb !== undefined ? 0 : nb === 1 ? -1 : be.ptr(b);
      if (pa !== -1 && pb !== -1) {
        be.addon.binary(op, pa, pb, be.ptr(y), n, sa ?? 0, sb ?? 0);
        count(be, name);
        return y;
      }
    }
    if (outShape.length > MAX_RANK) {
      be.disposeData(y.dataId);
      return null;
    }
    const r = outShape.length;
    const strides = (shape: number[]) => {
      const s = new Array<number>(r).fill(0);
      let acc = 1;
      for (let d = r - 1, k = shape.length - 1; d >= 0; d--, k--) {
        const dim = k >= 0 ? (shape[k] as number) : 1;
        s[d] = dim === 1 ? 0 : acc;
        acc *= dim;
      }
      return s;
    };
    // merge neighbouring dimensions that both operands walk contiguously (or both broadcast)
    const sA = strides(a.shape);
    const sB = strides(b.shape);
    const S: number[] = [];
    const A: number[] = [];
    const Bs: number[] = [];
    for (let d = 0; d < r; d++) {
      const nd = outShape[d] as number;
      if (nd === 1) continue;
      const k = S.length - 1;
      if (k >= 0 && A[k] === (sA[d] as number) * nd && Bs[k] === (sB[d] as number) * nd) {
        S[k] = (S[k] as number) * nd;
        A[k] = sA[d] as number;
        Bs[k] = sB[d] as number;
      } else {
        S.push(nd);
        A.push(sA[d] as number);
        Bs.push(sB[d] as number);
      }
    }
    const info = new Float64Array(3 * S.length);
    for (let d = 0; d < S.length; d++) {
      info[d] = S[d] as number;
      info[S.length + d] = A[d] as number;
      info[2 * S.length + d] = Bs[d] as number;
    }
    be.addon.binaryBcast(op, be.ptr(a), be.ptr(b), be.ptr(y), info);
    count(be, name);
    return y;
  };
}
for (const [name, op] of Object.entries(BINARY)) kernels.set(name, binaryKernel(name, op));

kernels.set("AddN", ({ inputs, backend: be }) => {
  const xs = Object.values(inputs) as TensorInfo[];
  if (!xs.every(isFloat) || !be.wantsDevice(...xs)) return null;
  const n = util.sizeFromShape((xs[0] as TensorInfo).shape);
  const y = be.out((xs[0] as TensorInfo).shape);
  if (xs.length === 1) be.addon.copy(be.ptr(y), be.ptr(xs[0] as TensorInfo), n);
  else {
    be.addon.binary(BINARY.Add, be.ptr(xs[0] as TensorInfo), be.ptr(xs[1] as TensorInfo), be.ptr(y), n, 0, 0);
    for (let i = 2; i < xs.length; i++)
      be.addon.binary(BINARY.Add, be.ptr(y), be.ptr(xs[i] as TensorInfo), be.ptr(y), n, 0, 0);
  }
  count(be, "AddN");
  return y;
});

kernels.set("Cast", ({ inputs, backend: be, attrs }) => {
  const x = inputs.x as TensorInfo;
  const dtype = (attrs as { dtype: tf.DataType }).dtype;
  if (!isNumeric(x) || !(dtype === "float32" || dtype === "int32" || dtype === "bool")) return null;
  if (!be.wantsDevice(x)) return null;
  const n = util.sizeFromShape(x.shape);
  const y = be.out(x.shape, dtype);
  const op =
    dtype === "bool"
      ? UNARY.NonZero
      : dtype === "int32" && x.dtype === "float32"
        ? UNARY.Trunc
        : UNARY.Identity;
  be.addon.unary(op, be.ptr(x), be.ptr(y), n, 0, 0);
  count(be, "Cast");
  return y;
});

kernels.set("Select", ({ inputs, backend: be }) => {
  const { condition, t, e } = inputs as { condition: TensorInfo; t: TensorInfo; e: TensorInfo };
  if (!isFloat(t) || !isFloat(e) || condition.shape.join() !== t.shape.join()) return null;
  if (!be.wantsDevice(condition, t, e)) return null;
  const y = be.out(t.shape);
  be.addon.select(be.ptr(condition), be.ptr(t), be.ptr(e), be.ptr(y), util.sizeFromShape(t.shape));
  count(be, "Select");
  return y;
});

function fillKernel(
  name: string,
  value: (a: KernelArgs) => number,
  shapeOf: (a: KernelArgs) => number[],
  dtypeOf: (a: KernelArgs) => tf.DataType,
): CudaKernel {
  return (args) => {
    const shape = shapeOf(args);
    const dtype = dtypeOf(args);
    const be = args.backend;
    const n = util.sizeFromShape(shape);
    if (dtype === "string" || dtype === "complex64") return null;
    if (n <= HOST_SIZE && !Object.values(args.inputs).some((t) => !be.entry(t as TensorInfo).host))
      return null;
    const y = be.out(shape, dtype);
    be.addon.fill(be.ptr(y), n, value(args));
    count(be, name);
    return y;
  };
}
kernels.set(
  "Fill",
  fillKernel(
    "Fill",
    (a) => Number((a.attrs as { value: number }).value),
    (a) => (a.attrs as { shape: number[] }).shape,
    (a) => (a.attrs as { dtype: tf.DataType }).dtype,
  ),
);
kernels.set(
  "ZerosLike",
  fillKernel(
    "ZerosLike",
    () => 0,
    (a) => (a.inputs.x as TensorInfo).shape,
    (a) => (a.inputs.x as TensorInfo).dtype,
  ),
);
kernels.set(
  "OnesLike",
  fillKernel(
    "OnesLike",
    () => 1,
    (a) => (a.inputs.x as TensorInfo).shape,
    (a) => (a.inputs.x as TensorInfo).dtype,
  ),
);

// ---- layout
function rowMajorStrides(shape: number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = (s[d + 1] as number) * (shape[d + 1] as number);
  return s;
}
/** Drops size-1 dimensions and merges dimensions contiguous on both sides (fewer index ops). */
function simplify(shape: number[], xs: number[], ys: number[]): [number[], number[], number[]] {
  const S: number[] = [];
  const X: number[] = [];
  const Y: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d] as number;
    if (n === 1) continue;
    const k = S.length - 1;
    if (k >= 0 && X[k] === (xs[d] as number) * n && Y[k] === (ys[d] as number) * n) {
      S[k] = (S[k] as number) * n;
      X[k] = xs[d] as number;
      Y[k] = ys[d] as number;
    } else {
      S.push(n);
      X.push(xs[d] as number);
      Y.push(ys[d] as number);
    }
  }
  if (S.length === 0) return [[1], [0], [0]];
  return [S, X, Y];
}
/** y[yOff + c . ys] = x[xOff + c . xs] over every index c of shape; false if too many dims. */
function stridedCopy(
  be: CudaBackend,
  x: number,
  xOff: number,
  xs: number[],
  y: number,
  yOff: number,
  ys: number[],
  shape: number[],
): boolean {
  const [S, X, Y] = simplify(shape, xs, ys);
  const r = S.length;
  if (r > MAX_RANK) return false;
  if (util.sizeFromShape(S) === 0) return true;
  if (r === 1 && X[0] === 1 && Y[0] === 1) {
    be.addon.copy(y + yOff * 4, x + xOff * 4, S[0] as number);
    return true;
  }
  const info = new Float64Array(3 * r);
  for (let d = 0; d < r; d++) {
    info[d] = S[d] as number;
    info[r + d] = X[d] as number;
    info[2 * r + d] = Y[d] as number;
  }
  be.addon.stridedCopy(x, xOff, y, yOff, info);
  return true;
}

kernels.set("Transpose", ({ inputs, backend: be, attrs }) => {
  const x = inputs.x as TensorInfo;
  const perm = (attrs as { perm: number[] }).perm;
  if (!isNumeric(x) || !be.wantsDevice(x)) return null;
  const outShape = perm.map((p) => x.shape[p] as number);
  const xsIn = rowMajorStrides(x.shape);
  const y = be.out(outShape, x.dtype);
  if (
    !stridedCopy(
      be,
      be.ptr(x),
      0,
      perm.map((p) => xsIn[p] as number),
      be.ptr(y),
      0,
      rowMajorStrides(outShape),
      outShape,
    )
  ) {
    be.disposeData(y.dataId);
    return null;
  }
  count(be, "Transpose");
  return y;
});

kernels.set("Slice", ({ inputs, backend: be, attrs }) => {
  const x = inputs.x as TensorInfo;
  if (!isNumeric(x) || !be.wantsDevice(x)) return null;
  const { begin, size } = attrs as { begin: number | number[]; size: number | number[] };
  const [b, s] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, size) as [
    number[],
    number[],
  ];
  const xs = rowMajorStrides(x.shape);
  const off = b.reduce((acc, v, d) => acc + v * (xs[d] as number), 0);
  const y = be.out(s, x.dtype);
  if (!stridedCopy(be, be.ptr(x), off, xs, be.ptr(y), 0, rowMajorStrides(s), s)) {
    be.disposeData(y.dataId);
    return null;
  }
  count(be, "Slice");
  return y;
});

kernels.set("SplitV", ({ inputs, backend: be, attrs }) => {
  const x = inputs.x as TensorInfo;
  if (!isNumeric(x) || !be.wantsDevice(x)) return null;
  const { numOrSizeSplits, axis } = attrs as { numOrSizeSplits: number | number[]; axis: number };
  const ax = util.parseAxisParam(axis, x.shape)[0] as number;
  const sizes = backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, ax);
  const xs = rowMajorStrides(x.shape);
  const outs: TensorInfo[] = [];
  let start = 0;
  for (const sz of sizes) {
    const shape = x.shape.slice();
    shape[ax] = sz;
    const y = be.out(shape, x.dtype);
    if (
      !stridedCopy(be, be.ptr(x), start * (xs[ax] as number), xs, be.ptr(y), 0, rowMajorStrides(shape), shape)
    ) {
      for (const o of [...outs, y]) be.disposeData(o.dataId);
      return null;
    }
    outs.push(y);
    start += sz;
  }
  count(be, "SplitV");
  return outs;
});

kernels.set("Concat", ({ inputs, backend: be, attrs }) => {
  const xs = (Object.values(inputs) as TensorInfo[]).filter((t) => util.sizeFromShape(t.shape) > 0);
  if (xs.length === 0 || !xs.every(isNumeric) || !be.wantsDevice(...xs)) return null;
  if (new Set(xs.map((t) => t.dtype)).size > 1) return null;
  const ax = util.parseAxisParam((attrs as { axis: number }).axis, (xs[0] as TensorInfo).shape)[0] as number;
  const outShape = backend_util.computeOutShape(
    xs.map((t) => t.shape),
    ax,
  );
  const y = be.out(outShape, (xs[0] as TensorInfo).dtype);
  const ys = rowMajorStrides(outShape);
  let start = 0;
  for (const t of xs) {
    if (
      !stridedCopy(
        be,
        be.ptr(t),
        0,
        rowMajorStrides(t.shape),
        be.ptr(y),
        start * (ys[ax] as number),
        ys,
        t.shape,
      )
    ) {
      be.disposeData(y.dataId);
      return null;
    }
    start += t.shape[ax] as number;
  }
  count(be, "Concat");
  return y;
});

kernels.set("PadV2", ({ inputs, backend: be, attrs }) => {
  const x = inputs.x as TensorInfo;
  if (!isNumeric(x) || !be.wantsDevice(x)) return null;
  const { paddings, constantValue } = attrs as { paddings: [number, number][]; constantValue: number };
  const outShape = x.shape.map(
    (s, d) => (paddings[d] as [number, number])[0] + s + (paddings[d] as [number, number])[1],
  );
  const y = be.out(outShape, x.dtype);
  be.addon.fill(be.ptr(y), util.sizeFromShape(outShape), constantValue);
  const ys = rowMajorStrides(outShape);
  const off = paddings.reduce((acc, p, d) => acc + p[0] * (ys[d] as number), 0);
  if (!stridedCopy(be, be.ptr(x), 0, rowMajorStrides(x.shape), be.ptr(y), off, ys, x.shape)) {
    be.disposeData(y.dataId);
    return null;
  }
  count(be, "PadV2");
  return y;
});

kernels.set("BroadcastTo", ({ inputs, backend: be, attrs }) => {
  const x = inputs.x as TensorInfo;
  if (!isNumeric(x) || !be.wantsDevice(x)) return null;
  const shape = (attrs as { shape: number[] }).shape;
  const r = shape.length;
  const xsIn = rowMajorStrides(x.shape);
  const xs = new Array<number>(r).fill(0);
  for (let d = r - 1, k = x.shape.length - 1; k >= 0; d--, k--)
    xs[d] = x.shape[k] === 1 ? 0 : (xsIn[k] as number);
  const y = be.out(shape, x.dtype);
  if (!stridedCopy(be, be.ptr(x), 0, xs, be.ptr(y), 0, rowMajorStrides(shape), shape)) {
    be.disposeData(y.dataId);
    return null;
  }
  count(be, "BroadcastTo");
  return y;
});

kernels.set("GatherV2", ({ inputs, backend: be, attrs }) => {
  const { x, indices } = inputs as { x: TensorInfo; indices: TensorInfo };
  const { axis, batchDims } = attrs as { axis: number; batchDims: number };
  if (batchDims || !isNumeric(x) || !be.wantsDevice(x, indices)) return null;
  const ax = util.parseAxisParam(axis, x.shape)[0] as number;
  const outer = util.sizeFromShape(x.shape.slice(0, ax));
  const dim = x.shape[ax] as number;
  const inner = util.sizeFromShape(x.shape.slice(ax + 1));
  const nIdx = util.sizeFromShape(indices.shape);
  const y = be.out([...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)], x.dtype);
  be.addon.gather(be.ptr(x), be.ptr(indices), be.ptr(y), outer, nIdx, dim, inner);
  count(be, "GatherV2");
  return y;
});

kernels.set("UnsortedSegmentSum", ({ inputs, backend: be, attrs }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  if (!isFloat(x) || !be.wantsDevice(x, segmentIds)) return null;
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const n = util.sizeFromShape(segmentIds.shape);
  const inner = n === 0 ? 0 : util.sizeFromShape(x.shape) / n;
  const y = be.out([numSegments, ...x.shape.slice(segmentIds.shape.length)]);
  be.addon.segmentSum(be.ptr(x), be.ptr(segmentIds), be.ptr(y), n, numSegments, inner);
  count(be, "UnsortedSegmentSum");
  return y;
});

kernels.set("OneHot", ({ inputs, backend: be, attrs }) => {
  const indices = inputs.indices as TensorInfo;
  const { depth, onValue, offValue, dtype } = attrs as {
    depth: number;
    onValue: number;
    offValue: number;
    dtype: tf.DataType;
  };
  const n = util.sizeFromShape(indices.shape);
  if (n * depth <= HOST_SIZE && !be.wantsDevice(indices)) return null;
  const y = be.out([...indices.shape, depth], dtype);
  be.addon.oneHot(be.ptr(indices), be.ptr(y), n, depth, onValue, offValue);
  count(be, "OneHot");
  return y;
});

// ---- reductions: the reduced axes are made innermost-contiguous (or transposed there first)
function reduceKernel(name: keyof typeof REDUCE): CudaKernel {
  return ({ inputs, backend: be, attrs }) => {
    const x = inputs.x as TensorInfo;
    const isArg = name === "ArgMax" || name === "ArgMin";
    const logical = name === "Any" || name === "All";
    if (logical ? x.dtype !== "bool" : !isFloat(x)) return null;
    if (!be.wantsDevice(x)) return null;
    const a = attrs as { axis?: number | number[]; keepDims?: boolean; reductionIndices?: number | number[] };
    let axes = util.parseAxisParam(
      ((isArg ? a.axis : (a.axis ?? a.reductionIndices)) ?? null) as number | number[],
      x.shape,
    );
    if (isArg) axes = [axes[0] as number];
    axes = [...new Set(axes)].sort((p, q) => p - q);
    if (axes.length === 0) return null;
    const orig = axes;
    const r = x.shape.length;
    let src = x;
    let shape = x.shape;
    const contiguous = axes.every((v, i) => i === 0 || v === (axes[i - 1] as number) + 1);
    let tmp: TensorInfo | null = null;
    if (!contiguous) {
      const perm = backend_util.getAxesPermutation(axes, r) as number[];
      const t = kernels.get("Transpose")?.({ inputs: { x }, backend: be, attrs: { perm } });
      if (!t || Array.isArray(t)) return null;
      tmp = t;
      src = t;
      shape = t.shape;
      axes = backend_util.getInnerMostAxes(axes.length, r);
    }
    const lo = axes[0] as number;
    const hi = axes[axes.length - 1] as number;
    const outer = util.sizeFromShape(shape.slice(0, lo));
    const mid = util.sizeFromShape(shape.slice(lo, hi + 1));
    const inner = util.sizeFromShape(shape.slice(hi + 1));
    const keep = !isArg && a.keepDims;
    const finalShape = keep
      ? x.shape.map((s, d) => (orig.includes(d) ? 1 : s))
      : x.shape.filter((_, d) => !orig.includes(d));
    const dtype: tf.DataType = isArg ? "int32" : logical ? "bool" : "float32";
    const y = be.out(finalShape, dtype);
    be.addon.reduce(REDUCE[name], be.ptr(src), be.ptr(y), outer, mid, inner);
    if (tmp) be.disposeData(tmp.dataId);
    count(be, name);
    return y;
  };
}
for (const name of Object.keys(REDUCE) as (keyof typeof REDUCE)[]) kernels.set(name, reduceKernel(name));

kernels.set("Softmax", ({ inputs, backend: be, attrs }) => {
  const x = inputs.logits as TensorInfo;
  const dim = (attrs as { dim: number }).dim;
  if (!isFloat(x) || !be.wantsDevice(x)) return null;
  if (dim !== -1 && dim !== x.shape.length - 1) return null;
  const cols = x.shape[x.shape.length - 1] as number;
  const y = be.out(x.shape);
  be.addon.softmax(be.ptr(x), be.ptr(y), util.sizeFromShape(x.shape) / cols, cols, 0);
  count(be, "Softmax");
  return y;
});

kernels.set("BatchMatMul", ({ inputs, backend: be, attrs }) => {
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
  if (!isFloat(a) || !isFloat(b)) return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = (transposeA ? a.shape[ra - 1] : a.shape[ra - 2]) as number;
  const K = (transposeA ? a.shape[ra - 2] : a.shape[ra - 1]) as number;
  const N = (transposeB ? b.shape[rb - 2] : b.shape[rb - 1]) as number;
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const nA = util.sizeFromShape(batchA);
  const nB = util.sizeFromShape(batchB);
  let batchShape: number[];
  if (nA === nB && batchA.join() === batchB.join()) batchShape = batchA;
  else if (nA === 1) batchShape = batchB;
  else if (nB === 1) batchShape = batchA;
  else return null;
  const batch = util.sizeFromShape(batchShape);
  const y = be.out([...batchShape, M, N]);
  be.addon.matmul(
    be.ptr(a),
    be.ptr(b),
    be.ptr(y),
    batch,
    M,
    N,
    K,
    transposeA ? 1 : 0,
    transposeB ? 1 : 0,
    nA === 1 ? 0 : M * K,
    nB === 1 ? 0 : K * N,
  );
  count(be, "BatchMatMul");
  return y;
});

// ---------------------------------------------------------------------------------------------
// Registration

let registered: string | null = null;
/** The device the `cuda` backend was registered for, or null before `registerCudaBackend`. */
export function registeredCudaDevice(): string | null {
  return registered;
}
/** Registers the `cuda` backend (a CudaBackend over `addon`) and its kernels with tfjs. */
export function registerCudaBackend(addon: CudaAddon, deviceName: string, priority = 0): void {
  if (registered) return;
  registered = deviceName;
  tf.registerBackend("cuda", () => new CudaBackend(addon, deviceName), priority);
  const cpuKernels = new Map(tf.getKernelsForBackend("cpu").map((k) => [k.kernelName, k]));
  const names = new Set([...cpuKernels.keys(), ...kernels.keys()]);
  for (const kernelName of names) {
    const cudaK = kernels.get(kernelName);
    const cpuK = cpuKernels.get(kernelName);
    tf.registerKernel({
      kernelName,
      backendName: "cuda",
      kernelFunc: (args) => {
        const be = args.backend as CudaBackend;
        if (cudaK) {
          const r = cudaK(args as unknown as KernelArgs);
          if (r) return r;
        }
        if (!cpuK) throw new Error(`cuda backend: no kernel for ${kernelName} with these inputs`);
        be.stats.cpu[kernelName] = (be.stats.cpu[kernelName] ?? 0) + 1;
        return cpuK.kernelFunc(args) as TensorInfo | TensorInfo[];
      },
    });
  }
}

/** The active tfjs backend as a CudaBackend, or null when `cuda` is not active. */
export function activeCudaBackend(): CudaBackend | null {
  if (tf.getBackend() !== "cuda") return null;
  return tf.backend() as unknown as CudaBackend;
}
