// Batched GPT-2 decoding with a KV cache (generation on the GPU), included by pairwise_cuda.cu
// (it uses that file's stream, cuBLAS handle, caching allocator and helpers).
//
// An engine holds pointers to a model's weights (the tfjs variables' device buffers), a KV cache
// of B rows x maxT positions per layer and its scratch buffers, all taken from the caching
// allocator once. One `decodeStep` runs the whole forward pass of B rows x T new tokens whose first
// token sits at position pos0 (the same for every row: rows advance together, see
// trainer/cuda/decode.ts), appends their keys/values to the cache and leaves the last position's
// logits (B x V) and their argmax. Per layer 8 launches: QKV GEMM, fused attention (bias, cache
// write, scores, softmax, weighted sum of values in one kernel), output GEMM, residual + bias +
// LayerNorm, FC GEMM, bias + GELU, projection GEMM, residual + bias + next LayerNorm. One-token
// steps (T = 1) are captured once as a CUDA graph and replayed: the position and token ids are read
// from device memory that the graph's first node copies from pinned host memory.

struct DecodeLayer {
  const float *ln1g, *ln1b, *wqkv, *bqkv, *wo, *bo, *ln2g, *ln2b, *wfc, *bfc, *wproj, *bproj;
  float *kc, *vc;
};

struct DecodeEngine {
  int L = 0, C = 0, nh = 0, hs = 0, V = 0, B = 0, maxT = 0, banned = -1;
  float eps = 1e-5f;
  const float *wte = nullptr, *wpe = nullptr, *lnfg = nullptr, *lnfb = nullptr;
  std::vector<DecodeLayer> layers;
  int capRows = 0;  // rows (B x T) the scratch buffers hold
  float *x = nullptr, *ln = nullptr, *qkv = nullptr, *att = nullptr, *tmp = nullptr, *fc = nullptr;
  float *logits = nullptr, *argmax = nullptr;
  int* stage = nullptr;       // device: [pos0, ids (B x T)]
  int* hostStage = nullptr;   // pinned
  float* hostArg = nullptr;   // pinned, B
  std::vector<uintptr_t> owned;
  cudaGraphExec_t graph = nullptr;
  bool graphFailed = false;
};

static std::vector<DecodeEngine*> g_engines;

static float* poolAlloc(size_t bytes) {
  bytes = roundSize(bytes);
  auto it = g_free.find(bytes);
  uintptr_t p = 0;
  if (it != g_free.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
  } else {
    void* q = nullptr;
    if (cudaMalloc(&q, bytes) != cudaSuccess) return nullptr;
    p = (uintptr_t)q;
    g_reserved += bytes;
    g_mallocs++;
  }
  g_live[p] = bytes;
  g_inUse += bytes;
  if (g_inUse > g_peak) g_peak = g_inUse;
  return (float*)p;
}
static void poolFree(uintptr_t p) {
  auto it = g_live.find(p);
  if (it == g_live.end()) return;
  g_free[it->second].push_back(p);
  g_inUse -= it->second;
  g_live.erase(it);
}
static float* engineAlloc(DecodeEngine* e, size_t floats) {
  float* p = poolAlloc(floats * 4 < 4 ? 4 : floats * 4);
  if (p) e->owned.push_back((uintptr_t)p);
  return p;
}

__device__ __forceinline__ float warpSum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffff, v, o);
  return v;
}
__device__ __forceinline__ float warpMax(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffff, v, o));
  return v;
}

// x = wte[id] + wpe[pos0 + t]; ln = LayerNorm(x) (warp per row of C)
__global__ void decEmbedLnKernel(const int* __restrict__ stage, const float* __restrict__ wte, const float* __restrict__ wpe,
                                 const float* __restrict__ g, const float* __restrict__ b, float* __restrict__ x,
                                 float* __restrict__ ln, int rows, int T, int C, float eps) {
  int r = (blockIdx.x * blockDim.x + threadIdx.x) / 32, lane = threadIdx.x % 32;
  if (r >= rows) return;
  int pos = stage[0] + r % T;
  int id = stage[1 + r];
  const float* te = wte + (int64_t)id * C;
  const float* pe = wpe + (int64_t)pos * C;
  float* xr = x + (int64_t)r * C;
  float s = 0.f;
  for (int c = lane; c < C; c += 32) {
    float v = te[c] + pe[c];
    xr[c] = v;
    s += v;
  }
  float mean = warpSum(s) / C;
  float var = 0.f;
  for (int c = lane; c < C; c += 32) {
    float d = xr[c] - mean;
    var += d * d;
  }
  float rstd = rsqrtf(warpSum(var) / C + eps);
  float* lr = ln + (int64_t)r * C;
  for (int c = lane; c < C; c += 32) lr[c] = (xr[c] - mean) * rstd * g[c] + b[c];
}

// x += y + bias; ln = LayerNorm(x) (warp per row)
__global__ void decResidLnKernel(float* __restrict__ x, const float* __restrict__ y, const float* __restrict__ bias,
                                 const float* __restrict__ g, const float* __restrict__ b, float* __restrict__ ln,
                                 int rows, int C, float eps) {
  int r = (blockIdx.x * blockDim.x + threadIdx.x) / 32, lane = threadIdx.x % 32;
  if (r >= rows) return;
  float* xr = x + (int64_t)r * C;
  const float* yr = y + (int64_t)r * C;
  float s = 0.f;
  for (int c = lane; c < C; c += 32) {
    float v = xr[c] + (yr[c] + bias[c]);
    xr[c] = v;
    s += v;
  }
  float mean = warpSum(s) / C;
  float var = 0.f;
  for (int c = lane; c < C; c += 32) {
    float d = xr[c] - mean;
    var += d * d;
  }
  float rstd = rsqrtf(warpSum(var) / C + eps);
  float* lr = ln + (int64_t)r * C;
  for (int c = lane; c < C; c += 32) lr[c] = (xr[c] - mean) * rstd * g[c] + b[c];
}

// h = gelu_tanh(h + bias) over rows x N
__global__ void decBiasGeluKernel(float* __restrict__ h, const float* __restrict__ bias, int64_t n, int N) {
  GRID_LOOP(i, n) {
    float v = h[i] + bias[i % N];
    float inner = 0.7978845608028654f * (v + 0.044715f * v * v * v);
    h[i] = 0.5f * v * (1.f + tanhf(inner));
  }
}

// Attention of query (b, t) in head h over keys 0..pos0+t. qkv: (B*T, 3C) without bias. Keys and
// values before pos0 come from the cache (B, nh, maxT, hs); those of this step from qkv (+ bias),
// and each block writes its own position's key and value into the cache. grid (nh, T, B).
__global__ void decAttnKernel(const float* __restrict__ qkv, const float* __restrict__ bqkv, float* __restrict__ kc,
                              float* __restrict__ vc, float* __restrict__ y, const int* __restrict__ stage, int T, int nh,
                              int hs, int maxT, float scale) {
  extern __shared__ float sm[];
  int h = blockIdx.x, t = blockIdx.y, b = blockIdx.z;
  int C = nh * hs;
  int pos0 = stage[0];
  int p = pos0 + t;
  int S = p + 1;
  float* q = sm;         // hs
  float* sc = sm + hs;   // S
  float* red = sc + maxT;  // 32 + 1
  const float* row = qkv + ((int64_t)b * T + t) * 3 * C;
  int64_t cb = ((int64_t)b * nh + h) * maxT * hs;
  const float* bq = bqkv + h * hs;
  const float* bk = bqkv + C + h * hs;
  const float* bv = bqkv + 2 * C + h * hs;
  for (int d = threadIdx.x; d < hs; d += blockDim.x) {
    q[d] = row[h * hs + d] + bq[d];
    kc[cb + (int64_t)p * hs + d] = row[C + h * hs + d] + bk[d];
    vc[cb + (int64_t)p * hs + d] = row[2 * C + h * hs + d] + bv[d];
  }
  __syncthreads();
  int w = threadIdx.x / 32, lane = threadIdx.x % 32, nw = blockDim.x / 32;
  float m = -INFINITY;
  for (int s = w; s < S; s += nw) {
    float acc = 0.f;
    if (s < pos0) {
      const float* kp = kc + cb + (int64_t)s * hs;
      for (int d = lane; d < hs; d += 32) acc += q[d] * kp[d];
    } else {
      const float* kp = qkv + ((int64_t)b * T + (s - pos0)) * 3 * C + C + h * hs;
      for (int d = lane; d < hs; d += 32) acc += q[d] * (kp[d] + bk[d]);
    }
    acc = warpSum(acc) * scale;
    if (lane == 0) sc[s] = acc;
    m = fmaxf(m, acc);
  }
  m = warpMax(m);
  if (lane == 0) red[w] = m;
  __syncthreads();
  if (w == 0) {
    float v = lane < nw ? red[lane] : -INFINITY;
    v = warpMax(v);
    if (lane == 0) red[32] = v;
  }
  __syncthreads();
  m = red[32];
  float z = 0.f;
  for (int s = threadIdx.x; s < S; s += blockDim.x) {
    float e = expf(sc[s] - m);
    sc[s] = e;
    z += e;
  }
  z = warpSum(z);
  __syncthreads();
  if (lane == 0) red[w] = z;
  __syncthreads();
  if (w == 0) {
    float v = lane < nw ? red[lane] : 0.f;
    v = warpSum(v);
    if (lane == 0) red[32] = v;
  }
  __syncthreads();
  float inv = 1.f / red[32];
  // out[d] = sum_s p_s v_s[d]: G groups of hs threads split the keys
  int G = hs <= (int)blockDim.x ? (int)blockDim.x / hs : 1;
  float* acc2 = red + 33;  // G * hs floats (dynamic smem sized for it)
  for (int d0 = 0; d0 < hs; d0 += (int)blockDim.x) {
    int gid = hs <= (int)blockDim.x ? threadIdx.x / hs : 0;
    int d = hs <= (int)blockDim.x ? threadIdx.x % hs : d0 + threadIdx.x;
    float a = 0.f;
    if (gid < G && d < hs) {
      for (int s = gid; s < S; s += G) {
        float vv = s < pos0 ? vc[cb + (int64_t)s * hs + d]
                            : qkv[((int64_t)b * T + (s - pos0)) * 3 * C + 2 * C + h * hs + d] + bv[d];
        a += sc[s] * vv;
      }
      acc2[gid * hs + (d % hs)] = a;
    }
    __syncthreads();
    if (gid == 0 && d < hs) {
      float tot = 0.f;
      for (int g2 = 0; g2 < G; g2++) tot += acc2[g2 * hs + d];
      y[((int64_t)b * T + t) * C + h * hs + d] = tot * inv;
    }
    __syncthreads();
    if (hs <= (int)blockDim.x) break;
  }
}

// argmax over each row of V (first maximum; `banned` is skipped), written as a float index
__global__ void decArgmaxKernel(const float* __restrict__ logits, float* __restrict__ out, int V, int banned) {
  const float* r = logits + (int64_t)blockIdx.x * V;
  float best = -INFINITY;
  int bi = 0x7fffffff;
  for (int i = threadIdx.x; i < V; i += blockDim.x) {
    float v = r[i];
    if (i != banned && (v > best || (v == best && i < bi))) {
      best = v;
      bi = i;
    }
  }
  __shared__ float sv[32];
  __shared__ int si[32];
  for (int o = 16; o > 0; o >>= 1) {
    float ov = __shfl_xor_sync(0xffffffff, best, o);
    int oi = __shfl_xor_sync(0xffffffff, bi, o);
    if (ov > best || (ov == best && oi < bi)) {
      best = ov;
      bi = oi;
    }
  }
  int w = threadIdx.x / 32, lane = threadIdx.x % 32, nw = blockDim.x / 32;
  if (lane == 0) {
    sv[w] = best;
    si[w] = bi;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int k = 1; k < nw; k++)
      if (sv[k] > best || (sv[k] == best && si[k] < bi)) {
        best = sv[k];
        bi = si[k];
      }
    out[blockIdx.x] = (float)(bi == 0x7fffffff ? 0 : bi);
  }
}

// Row-major out (M x N, ldo) = A (M x K, row stride lda) @ W, W (K x N) row-major, or with
// transW W is (N x K) row-major (the tied LM head).
static cublasStatus_t decGemm(const float* A, int lda, const float* W, bool transW, float* out, int M, int N, int K) {
  const float one = 1.f, zero = 0.f;
  cublasComputeType_t ct = g_math == 0 ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_32F_FAST_TF32;
  return cublasGemmEx(g_blas, transW ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &one, W, CUDA_R_32F,
                      transW ? K : N, A, CUDA_R_32F, lda, &zero, out, CUDA_R_32F, N, ct, CUBLAS_GEMM_DEFAULT);
}

static size_t decAttnSmem(const DecodeEngine* e) {
  int G = e->hs <= 128 ? 128 / e->hs : 1;
  return (size_t)(e->hs + e->maxT + 33 + G * e->hs + 128) * sizeof(float);
}

// Enqueues one step (copy of the stage in, forward, LM head, argmax, copy of the argmax out).
static bool decEnqueue(DecodeEngine* e, int T) {
  int B = e->B, C = e->C, rows = B * T;
  if (cudaMemcpyAsync(e->stage, e->hostStage, (size_t)(1 + rows) * 4, cudaMemcpyHostToDevice, g_stream) != cudaSuccess)
    return false;
  unsigned lnBlocks = (unsigned)((rows * 32 + 255) / 256);
  const DecodeLayer& l0 = e->layers[0];
  decEmbedLnKernel<<<lnBlocks, 256, 0, g_stream>>>(e->stage, e->wte, e->wpe, l0.ln1g, l0.ln1b, e->x, e->ln, rows, T, C,
                                                    e->eps);
  float scale = 1.f / sqrtf((float)e->hs);
  for (int i = 0; i < e->L; i++) {
    const DecodeLayer& l = e->layers[i];
    if (decGemm(e->ln, C, l.wqkv, false, e->qkv, rows, 3 * C, C) != CUBLAS_STATUS_SUCCESS) return false;
    decAttnKernel<<<dim3(e->nh, T, B), 128, decAttnSmem(e), g_stream>>>(e->qkv, l.bqkv, l.kc, l.vc, e->att, e->stage,
                                                                         T, e->nh, e->hs, e->maxT, scale);
    if (decGemm(e->att, C, l.wo, false, e->tmp, rows, C, C) != CUBLAS_STATUS_SUCCESS) return false;
    decResidLnKernel<<<lnBlocks, 256, 0, g_stream>>>(e->x, e->tmp, l.bo, l.ln2g, l.ln2b, e->ln, rows, C, e->eps);
    if (decGemm(e->ln, C, l.wfc, false, e->fc, rows, 4 * C, C) != CUBLAS_STATUS_SUCCESS) return false;
    decBiasGeluKernel<<<blocksFor((int64_t)rows * 4 * C), 256, 0, g_stream>>>(e->fc, l.bfc, (int64_t)rows * 4 * C, 4 * C);
    if (decGemm(e->fc, 4 * C, l.wproj, false, e->tmp, rows, C, 4 * C) != CUBLAS_STATUS_SUCCESS) return false;
    const float* ng = i + 1 < e->L ? e->layers[i + 1].ln1g : e->lnfg;
    const float* nb = i + 1 < e->L ? e->layers[i + 1].ln1b : e->lnfb;
    decResidLnKernel<<<lnBlocks, 256, 0, g_stream>>>(e->x, e->tmp, l.bproj, ng, nb, e->ln, rows, C, e->eps);
  }
  // LM head on each row's last position: rows b*T + T-1, stride T*C
  if (decGemm(e->ln + (int64_t)(T - 1) * C, T * C, e->wte, true, e->logits, B, e->V, C) != CUBLAS_STATUS_SUCCESS)
    return false;
  decArgmaxKernel<<<B, 256, 0, g_stream>>>(e->logits, e->argmax, e->V, e->banned);
  if (cudaMemcpyAsync(e->hostArg, e->argmax, (size_t)B * 4, cudaMemcpyDeviceToHost, g_stream) != cudaSuccess)
    return false;
  return cudaGetLastError() == cudaSuccess;
}

static bool decEnsureRows(DecodeEngine* e, int rows) {
  if (rows <= e->capRows) return true;
  cudaStreamSynchronize(g_stream);
  // scratch buffers are the engine's last allocations after the cache: free and take bigger ones
  for (float** p : {&e->x, &e->ln, &e->qkv, &e->att, &e->tmp, &e->fc}) {
    if (*p) {
      poolFree((uintptr_t)*p);
      for (auto& o : e->owned)
        if (o == (uintptr_t)*p) o = 0;
    }
  }
  int C = e->C;
  e->x = engineAlloc(e, (size_t)rows * C);
  e->ln = engineAlloc(e, (size_t)rows * C);
  e->qkv = engineAlloc(e, (size_t)rows * 3 * C);
  e->att = engineAlloc(e, (size_t)rows * C);
  e->tmp = engineAlloc(e, (size_t)rows * C);
  e->fc = engineAlloc(e, (size_t)rows * 4 * C);
  if (!e->x || !e->ln || !e->qkv || !e->att || !e->tmp || !e->fc) return false;
  if (e->hostStage) cudaFreeHost(e->hostStage);
  if (cudaMallocHost(&e->hostStage, (size_t)(1 + rows) * 4) != cudaSuccess) return false;
  if (e->stage) {
    poolFree((uintptr_t)e->stage);
    for (auto& o : e->owned)
      if (o == (uintptr_t)e->stage) o = 0;
  }
  e->stage = (int*)engineAlloc(e, (size_t)(1 + rows));
  if (!e->stage) return false;
  if (e->graph) {  // captured with the old buffers
    cudaGraphExecDestroy(e->graph);
    e->graph = nullptr;
  }
  e->capRows = rows;
  return true;
}

// decodeNew(table, L, C, nh, V, B, maxT, eps, banned) -> handle. table (float64): wte, wpe, ln_f.g,
// ln_f.b, then per layer ln1.g, ln1.b, c_attn.w, c_attn.b, attn.c_proj.w, attn.c_proj.b, ln2.g,
// ln2.b, c_fc.w, c_fc.b, mlp.c_proj.w, mlp.c_proj.b.
static napi_value DecodeNew(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t n = 0;
  double* tab = (double*)a.typed(0, &n);
  DecodeEngine* e = new DecodeEngine();
  e->L = a.i32(1);
  e->C = a.i32(2);
  e->nh = a.i32(3);
  e->V = a.i32(4);
  e->B = a.i32(5);
  e->maxT = a.i32(6);
  e->eps = (float)a.d(7);
  e->banned = a.i32(8);
  if (!a.ok || !tab || n != (size_t)(4 + 12 * e->L) || e->C % e->nh != 0 || e->B < 1 || e->maxT < 1) {
    delete e;
    return throwErr(env, "decodeNew: bad arguments");
  }
  e->hs = e->C / e->nh;
  auto P = [&](int i) { return (const float*)(uintptr_t)tab[i]; };
  e->wte = P(0);
  e->wpe = P(1);
  e->lnfg = P(2);
  e->lnfb = P(3);
  for (int i = 0; i < e->L; i++) {
    DecodeLayer l;
    int o = 4 + 12 * i;
    l.ln1g = P(o);
    l.ln1b = P(o + 1);
    l.wqkv = P(o + 2);
    l.bqkv = P(o + 3);
    l.wo = P(o + 4);
    l.bo = P(o + 5);
    l.ln2g = P(o + 6);
    l.ln2b = P(o + 7);
    l.wfc = P(o + 8);
    l.bfc = P(o + 9);
    l.wproj = P(o + 10);
    l.bproj = P(o + 11);
    size_t cache = (size_t)e->B * e->nh * e->maxT * e->hs;
    l.kc = engineAlloc(e, cache);
    l.vc = engineAlloc(e, cache);
    if (!l.kc || !l.vc) {
      for (auto p : e->owned) poolFree(p);
      delete e;
      return throwErr(env, "decodeNew: out of device memory for the KV cache");
    }
    e->layers.push_back(l);
  }
  e->logits = engineAlloc(e, (size_t)e->B * e->V);
  e->argmax = engineAlloc(e, (size_t)e->B);
  if (!e->logits || !e->argmax || cudaMallocHost(&e->hostArg, (size_t)e->B * 4) != cudaSuccess ||
      !decEnsureRows(e, e->B)) {
    for (auto p : e->owned)
      if (p) poolFree(p);
    delete e;
    return throwErr(env, "decodeNew: out of memory");
  }
  size_t smem = decAttnSmem(e);
  if (smem > 48 * 1024) cudaFuncSetAttribute(decAttnKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
  g_engines.push_back(e);
  return num(env, (double)(g_engines.size() - 1));
}

static DecodeEngine* engineOf(Args& a, int i) {
  int h = a.i32(i);
  if (h < 0 || h >= (int)g_engines.size()) return nullptr;
  return g_engines[h];
}

// decodeStep(handle, ids Int32Array (B*T), T, pos0, argmaxOut Float32Array (B), logitsOut?
// Float32Array (B*V) | null, useGraph). Waits for the step; fills argmaxOut (and logitsOut).
static napi_value DecodeStep(napi_env env, napi_callback_info info) {
  Args a(env, info);
  DecodeEngine* e = engineOf(a, 0);
  size_t nIds = 0, nArg = 0, nLog = 0;
  int* ids = (int*)a.typed(1, &nIds);
  int T = a.i32(2), pos0 = a.i32(3);
  float* argOut = (float*)a.typed(4, &nArg);
  float* logOut = nullptr;
  napi_valuetype t5 = napi_undefined;
  if (a.argc > 5) napi_typeof(env, a.argv[5], &t5);
  if (t5 == napi_object) logOut = (float*)a.typed(5, &nLog);
  bool useGraph = a.argc > 6 && a.d(6) != 0;
  if (!e || !a.ok || T < 1 || nIds != (size_t)e->B * T || nArg != (size_t)e->B ||
      (logOut && nLog != (size_t)e->B * e->V))
    return throwErr(env, "decodeStep: bad arguments");
  if (pos0 < 0 || pos0 + T > e->maxT) return throwErr(env, "decodeStep: past the cache's length");
  if (!decEnsureRows(e, e->B * T)) return throwErr(env, "decodeStep: out of device memory");
  e->hostStage[0] = pos0;
  memcpy(e->hostStage + 1, ids, nIds * 4);
  bool ok = true;
  if (T == 1 && useGraph && !e->graphFailed) {
    if (!e->graph) {
      cudaGraph_t g = nullptr;
      bool cap = cudaStreamBeginCapture(g_stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess;
      bool enq = cap && decEnqueue(e, 1);
      if (cap) {
        cudaError_t ce = cudaStreamEndCapture(g_stream, &g);
        if (ce != cudaSuccess) enq = false;
      }
      if (enq && g && cudaGraphInstantiate(&e->graph, g, 0) == cudaSuccess) {
        /* captured */
      } else {
        e->graph = nullptr;
        e->graphFailed = true;
      }
      if (g) cudaGraphDestroy(g);
      cudaGetLastError();  // clear a capture error; the step then runs without the graph
    }
    if (e->graph) ok = cudaGraphLaunch(e->graph, g_stream) == cudaSuccess;
    else ok = decEnqueue(e, 1);
  } else {
    ok = decEnqueue(e, T);
  }
  if (!ok) return throwErr(env, std::string("decodeStep failed: ") + cudaGetErrorString(cudaGetLastError()));
  if (logOut) CUDA_CHECK(env, cudaMemcpyAsync(logOut, e->logits, nLog * 4, cudaMemcpyDeviceToHost, g_stream));
  CUDA_CHECK(env, cudaStreamSynchronize(g_stream));
  memcpy(argOut, e->hostArg, nArg * 4);
  return num(env, e->graph && T == 1 && useGraph ? 1 : 0);
}

// decodeFree(handle): gives the cache and buffers back to the caching allocator
static napi_value DecodeFree(napi_env env, napi_callback_info info) {
  Args a(env, info);
  DecodeEngine* e = engineOf(a, 0);
  if (!e) return undef(env);
  cudaStreamSynchronize(g_stream);
  if (e->graph) cudaGraphExecDestroy(e->graph);
  for (auto p : e->owned)
    if (p) poolFree(p);
  if (e->hostStage) cudaFreeHost(e->hostStage);
  if (e->hostArg) cudaFreeHost(e->hostArg);
  g_engines[a.i32(0)] = nullptr;
  delete e;
  return undef(env);
}

#define DECODE_EXPORTS FN("decodeNew", DecodeNew), FN("decodeStep", DecodeStep), FN("decodeFree", DecodeFree),
