// The native addon's interface (trainer/cuda/pairwise_cuda.cu). Pointers are device addresses as
// numbers; every array is float32 on the device.

export interface CudaAddon {
  init(device?: number): string;
  /** 0 fp32, 1 tf32, 2 bf16 (bf16 matmul operands, fp32 accumulate and output). */
  setMath(mode: number): void;
  alloc(bytes: number): number;
  free(ptr: number): void;
  /** [bytes in use, bytes reserved from cudaMalloc, peak bytes in use, cudaMalloc calls]. */
  memStats(resetPeak?: number): [number, number, number, number];
  upload(ptr: number, data: Float32Array): void;
  download(ptr: number, out: Float32Array): void;
  sync(): void;
  copy(dst: number, src: number, n: number): void;
  fill(y: number, n: number, value: number): void;
  unary(op: number, x: number, y: number, n: number, p0?: number, p1?: number): void;
  binary(op: number, a: number, b: number, y: number, n: number, scalarA: number, scalarB: number): void;
  binaryBcast(op: number, a: number, b: number, y: number, info: Float64Array): void;
  select(cond: number, a: number, b: number, y: number, n: number): void;
  stridedCopy(x: number, xOff: number, y: number, yOff: number, info: Float64Array): void;
  gather(x: number, idx: number, y: number, outer: number, nIdx: number, dim: number, inner: number): void;
  segmentSum(x: number, ids: number, y: number, n: number, numSegments: number, inner: number): void;
  oneHot(idx: number, y: number, n: number, depth: number, on: number, off: number): void;
  reduce(op: number, x: number, y: number, outer: number, mid: number, inner: number): void;
  softmax(x: number, y: number, rows: number, cols: number, log: number): void;
  matmul(
    a: number,
    b: number,
    c: number,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: number,
    transB: number,
    strideA: number,
    strideB: number,
    alpha?: number,
    beta?: number,
  ): void;
  adamw(
    table: Float64Array,
    lr: number,
    b1: number,
    b2: number,
    eps: number,
    wd: number,
    bc1: number,
    bc2: number,
    scalePtr: number,
  ): void;
  layerNorm(
    x: number,
    g: number,
    b: number,
    y: number,
    mean: number,
    rstd: number,
    rows: number,
    C: number,
    eps: number,
  ): void;
  layerNormBwd(
    dy: number,
    x: number,
    g: number,
    mean: number,
    rstd: number,
    dx: number,
    dg: number,
    db: number,
    rows: number,
    C: number,
  ): void;
  geluBwd(dy: number, x: number, dx: number, n: number): void;
  tokenLogp(logits: number, targets: number, logp: number, lse: number, rows: number, V: number): void;
  tokenLogpBwd(
    logits: number,
    targets: number,
    lse: number,
    dlogp: number,
    dlogits: number,
    rows: number,
    V: number,
  ): void;
  /** dst_i = src_i * factor for every (src, dst, n) row; norm = global L2 norm * scaleBy; factor =
   *  scaleBy * min(1, maxNorm / (norm + 1e-6)) (1 if maxNorm <= 0). All on the device. */
  clipGrads(table: Float64Array, norm: number, factor: number, maxNorm: number, scaleBy: number): void;
  /** y = softmax(scale * x + causal mask) over rows of S (T queries per block of rows). */
  causalSoftmax(x: number, y: number, rows: number, T: number, S: number, scale: number): void;
  /** dx = scale * y * (dy - sum(dy * y)) per row of S. */
  softmaxBwd(dy: number, y: number, dx: number, rows: number, S: number, scale: number): void;
  // Generation (trainer/cuda/pairwise_decode.cuh, driven by trainer/cuda/decode.ts): a GPT-2 decoder
  // over the weights in `table` with a KV cache of B rows x maxT positions.
  /** table: wte, wpe, ln_f.weight, ln_f.bias, then per layer the 12 GPT-2 tensors in save order. */
  decodeNew?(
    table: Float64Array,
    L: number,
    C: number,
    nh: number,
    V: number,
    B: number,
    maxT: number,
    eps: number,
    banned: number,
  ): number;
  /** Forward of B x T tokens at positions pos0.. (same for every row); fills the last position's argmax
   *  (B, never `banned`) and, if given, logits (B x V). Waits for the device. Returns 1 if a CUDA graph ran. */
  decodeStep?(
    handle: number,
    ids: Int32Array,
    T: number,
    pos0: number,
    argmaxOut: Float32Array,
    logitsOut: Float32Array | null,
    useGraph: number,
  ): number;
  decodeFree?(handle: number): void;
}

export const UNARY = {
  Neg: 0,
  Square: 1,
  Sqrt: 2,
  Rsqrt: 3,
  Exp: 4,
  Log: 5,
  Tanh: 6,
  Softplus: 7,
  Abs: 8,
  Sigmoid: 9,
  Relu: 10,
  Reciprocal: 11,
  Log1p: 12,
  Expm1: 13,
  Sign: 14,
  Floor: 15,
  Ceil: 16,
  Round: 17,
  Erf: 18,
  Sin: 19,
  Cos: 20,
  Identity: 21,
  Trunc: 22,
  NonZero: 23,
  Step: 24,
  Elu: 25,
  Relu6: 26,
  LogicalNot: 27,
  IsNan: 28,
  IsInf: 29,
  IsFinite: 30,
  ClipByValue: 31,
  LeakyRelu: 32,
  Selu: 33,
  GeluTanh: 34,
} as const;

export const BINARY = {
  Add: 0,
  Sub: 1,
  Multiply: 2,
  RealDiv: 3,
  Maximum: 4,
  Minimum: 5,
  Pow: 6,
  SquaredDifference: 7,
  Equal: 8,
  NotEqual: 9,
  Less: 10,
  LessEqual: 11,
  Greater: 12,
  GreaterEqual: 13,
  LogicalAnd: 14,
  LogicalOr: 15,
  FloorDiv: 16,
  Atan2: 17,
  Mod: 18,
  DivNoNan: 19,
  Prelu: 20,
} as const;

export const REDUCE = {
  Sum: 0,
  Max: 1,
  Min: 2,
  Mean: 3,
  Prod: 4,
  Any: 5,
  All: 6,
  ArgMax: 7,
  ArgMin: 8,
} as const;

export type Precision = "fp32" | "tf32" | "bf16";
export const PRECISION_MODE: Record<Precision, number> = { fp32: 0, tf32: 1, bf16: 2 };
