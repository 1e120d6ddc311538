// Pairwise CUDA addon: device memory (a caching allocator), copies, cuBLAS matmuls and the
// element-wise, reduction, layout and fused kernels behind the tfjs `cuda` backend
// (trainer/cuda/backend.ts). Built from source on first use (trainer/cuda/build.ts) with
//   nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -arch=sm_XX -I<node-api-headers> pairwise_cuda.cu -lcublas
// Every tensor on the device is float32 (int32 and bool values are stored as exact floats, as
// tfjs-webgl does); every kernel runs on one stream, so a buffer freed by JS can be handed to the
// next kernel at once (stream order keeps the earlier reader first). Pointers travel to JS as
// doubles (device addresses fit in 53 bits).
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

// ---------------------------------------------------------------------------------------------
// Globals

static cudaStream_t g_stream = nullptr;
static cublasHandle_t g_blas = nullptr;
static int g_math = 0;  // 0 fp32, 1 tf32, 2 bf16 (bf16 operands, fp32 accumulate and output)
static void* g_workspace = nullptr;
static size_t g_workspaceBytes = 64u << 20;
static int g_numSMs = 132;

// Caching allocator: freed blocks go to a free list per (rounded) size and are handed out again;
// cudaMalloc only when no cached block of that size exists.
static std::unordered_map<uintptr_t, size_t> g_live;            // ptr -> rounded size
static std::map<size_t, std::vector<uintptr_t>> g_free;         // rounded size -> free ptrs
static size_t g_inUse = 0, g_reserved = 0, g_peak = 0, g_mallocs = 0;

static size_t roundSize(size_t n) {
  if (n < 512) return 512;
  if (n < (1u << 20)) return (n + 511) & ~size_t(511);
  // >= 1 MiB: round up to 1/8 of the next power of two (bounded waste, few distinct sizes)
  size_t p = 1;
  while (p < n) p <<= 1;
  size_t step = p >> 3;
  return (n + step - 1) / step * step;
}

#define NAPI_CALL(env, call)                                                 \
  do {                                                                       \
    napi_status _s = (call);                                                 \
    if (_s != napi_ok) {                                                     \
      napi_throw_error((env), nullptr, "N-API call failed: " #call);         \
      return nullptr;                                                        \
    }                                                                        \
  } while (0)

static napi_value throwErr(napi_env env, const std::string& msg) {
  napi_throw_error(env, nullptr, msg.c_str());
  return nullptr;
}

#define CUDA_CHECK(env, call)                                                              \
  do {                                                                                     \
    cudaError_t _e = (call);                                                               \
    if (_e != cudaSuccess) return throwErr((env), std::string("CUDA error: ") + #call + ": " + \
                                                      cudaGetErrorString(_e));             \
  } while (0)

#define LAUNCH_CHECK(env)                                                                  \
  do {                                                                                     \
    cudaError_t _e = cudaGetLastError();                                                   \
    if (_e != cudaSuccess) return throwErr((env), std::string("CUDA launch failed in ") + __func__ + \
                                                      ": " + cudaGetErrorString(_e));      \
  } while (0)

// Argument helpers
struct Args {
  napi_env env;
  size_t argc = 24;
  napi_value argv[24];
  bool ok = true;
  Args(napi_env e, napi_callback_info info) : env(e) {
    if (napi_get_cb_info(e, info, &argc, argv, nullptr, nullptr) != napi_ok) ok = false;
  }
  double d(size_t i) {
    double v = 0;
    if (i >= argc || napi_get_value_double(env, argv[i], &v) != napi_ok) ok = false;
    return v;
  }
  int64_t i64(size_t i) { return (int64_t)d(i); }
  int i32(size_t i) { return (int)d(i); }
  float* fp(size_t i) { return (float*)(uintptr_t)d(i); }
  // a typed array's data and element count
  void* typed(size_t i, size_t* len) {
    napi_typedarray_type t;
    void* data = nullptr;
    napi_value ab;
    size_t off;
    if (i >= argc || napi_get_typedarray_info(env, argv[i], &t, len, &data, &ab, &off) != napi_ok) {
      ok = false;
      return nullptr;
    }
    return data;
  }
};

static napi_value num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}
static napi_value undef(napi_env env) {
  napi_value r;
  napi_get_undefined(env, &r);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Init, memory, copies

static napi_value Init(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int dev = a.argc > 0 ? a.i32(0) : 0;
  if (g_stream) return undef(env);
  int count = 0;
  CUDA_CHECK(env, cudaGetDeviceCount(&count));
  if (count <= dev) return throwErr(env, "no CUDA device " + std::to_string(dev));
  CUDA_CHECK(env, cudaSetDevice(dev));
  cudaDeviceProp p;
  CUDA_CHECK(env, cudaGetDeviceProperties(&p, dev));
  g_numSMs = p.multiProcessorCount;
  CUDA_CHECK(env, cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking));
  if (cublasCreate(&g_blas) != CUBLAS_STATUS_SUCCESS) return throwErr(env, "cublasCreate failed");
  cublasSetStream(g_blas, g_stream);
  CUDA_CHECK(env, cudaMalloc(&g_workspace, g_workspaceBytes));
  cublasSetWorkspace(g_blas, g_workspace, g_workspaceBytes);
  char buf[512];
  snprintf(buf, sizeof buf, "%s (sm_%d%d, %d SMs, %.1f GiB)", p.name, p.major, p.minor, p.multiProcessorCount,
           p.totalGlobalMem / 1073741824.0);
  napi_value r;
  napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &r);
  return r;
}

static napi_value SetMath(napi_env env, napi_callback_info info) {
  Args a(env, info);
  g_math = a.i32(0);
  return undef(env);
}

static napi_value Alloc(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t bytes = roundSize((size_t)a.d(0));
  uintptr_t p = 0;
  auto it = g_free.find(bytes);
  if (it != g_free.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
  } else {
    void* q = nullptr;
    cudaError_t e = cudaMalloc(&q, bytes);
    if (e != cudaSuccess) {
      // give the cache back and try once more
      cudaStreamSynchronize(g_stream);
      for (auto& kv : g_free)
        for (auto f : kv.second) {
          cudaFree((void*)f);
          g_reserved -= kv.first;
        }
      g_free.clear();
      e = cudaMalloc(&q, bytes);
      if (e != cudaSuccess) return throwErr(env, std::string("cudaMalloc(") + std::to_string(bytes) + "): " + cudaGetErrorString(e));
    }
    p = (uintptr_t)q;
    g_reserved += bytes;
    g_mallocs++;
  }
  g_live[p] = bytes;
  g_inUse += bytes;
  if (g_inUse > g_peak) g_peak = g_inUse;
  return num(env, (double)p);
}

static napi_value Free(napi_env env, napi_callback_info info) {
  Args a(env, info);
  uintptr_t p = (uintptr_t)a.d(0);
  auto it = g_live.find(p);
  if (it == g_live.end()) return throwErr(env, "free of an unknown device pointer");
  g_free[it->second].push_back(p);
  g_inUse -= it->second;
  g_live.erase(it);
  return undef(env);
}

// [inUse, reserved, peak, cudaMallocs]; resetPeak if arg0
static napi_value MemStats(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.argc > 0 && a.d(0) != 0) g_peak = g_inUse;
  napi_value arr;
  napi_create_array_with_length(env, 4, &arr);
  double v[4] = {(double)g_inUse, (double)g_reserved, (double)g_peak, (double)g_mallocs};
  for (uint32_t i = 0; i < 4; i++) napi_set_element(env, arr, i, num(env, v[i]));
  return arr;
}

// upload(ptr, Float32Array)
static napi_value Upload(napi_env env, napi_callback_info info) {
  Args a(env, info);
  float* p = a.fp(0);
  size_t len;
  void* data = a.typed(1, &len);
  if (!a.ok) return throwErr(env, "upload: bad arguments");
  CUDA_CHECK(env, cudaMemcpyAsync(p, data, len * 4, cudaMemcpyHostToDevice, g_stream));
  return undef(env);
}

// download(ptr, Float32Array): waits for the stream
static napi_value Download(napi_env env, napi_callback_info info) {
  Args a(env, info);
  float* p = a.fp(0);
  size_t len;
  void* data = a.typed(1, &len);
  if (!a.ok) return throwErr(env, "download: bad arguments");
  CUDA_CHECK(env, cudaMemcpyAsync(data, p, len * 4, cudaMemcpyDeviceToHost, g_stream));
  CUDA_CHECK(env, cudaStreamSynchronize(g_stream));
  return undef(env);
}

static napi_value Sync(napi_env env, napi_callback_info info) {
  CUDA_CHECK(env, cudaStreamSynchronize(g_stream));
  return undef(env);
}

// copy(dst, src, n)
static napi_value Copy(napi_env env, napi_callback_info info) {
  Args a(env, info);
  CUDA_CHECK(env, cudaMemcpyAsync(a.fp(0), a.fp(1), (size_t)a.d(2) * 4, cudaMemcpyDeviceToDevice, g_stream));
  return undef(env);
}

// ---------------------------------------------------------------------------------------------
// Element-wise

static inline int blocksFor(int64_t n, int threads = 256) {
  int64_t b = (n + threads - 1) / threads;
  int64_t cap = (int64_t)g_numSMs * 32;
  return (int)(b < 1 ? 1 : (b > cap ? cap : b));
}

#define GRID_LOOP(i, n) for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

__global__ void fillKernel(float* y, int64_t n, float v) {
  GRID_LOOP(i, n) y[i] = v;
}

static napi_value Fill(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t n = a.i64(1);
  if (n > 0) fillKernel<<<blocksFor(n), 256, 0, g_stream>>>(a.fp(0), n, (float)a.d(2));
  LAUNCH_CHECK(env);
  return undef(env);
}

enum UnaryOp {
  U_NEG = 0, U_SQUARE, U_SQRT, U_RSQRT, U_EXP, U_LOG, U_TANH, U_SOFTPLUS, U_ABS, U_SIGMOID, U_RELU,
  U_RECIPROCAL, U_LOG1P, U_EXPM1, U_SIGN, U_FLOOR, U_CEIL, U_ROUND, U_ERF, U_SIN, U_COS, U_IDENTITY,
  U_TRUNC, U_NONZERO, U_STEP, U_ELU, U_RELU6, U_LOGICAL_NOT, U_ISNAN, U_ISINF, U_ISFINITE, U_CLIP,
  U_LEAKYRELU, U_SELU, U_GELU_TANH
};

__device__ __forceinline__ float unaryOp(int op, float x, float p0, float p1) {
  switch (op) {
    case U_NEG: return -x;
    case U_SQUARE: return x * x;
    case U_SQRT: return sqrtf(x);
    case U_RSQRT: return rsqrtf(x);
    case U_EXP: return expf(x);
    case U_LOG: return logf(x);
    case U_TANH: return tanhf(x);
    case U_SOFTPLUS: {
      // tfjs: stable softplus, with its own thresholds
      const float eps = 1.1920928955078125e-7f, th = logf(eps) + 2.0f;
      if (x > -th) return x;
      if (x < th) return expf(x);
      return log1pf(expf(x));
    }
    case U_ABS: return fabsf(x);
    case U_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case U_RELU: return x > 0 ? x : 0.0f;
    case U_RECIPROCAL: return 1.0f / x;
    case U_LOG1P: return log1pf(x);
    case U_EXPM1: return expm1f(x);
    case U_SIGN: return x > 0 ? 1.0f : (x < 0 ? -1.0f : 0.0f);
    case U_FLOOR: return floorf(x);
    case U_CEIL: return ceilf(x);
    case U_ROUND: return rintf(x);  // banker's rounding, as tfjs
    case U_ERF: return erff(x);
    case U_SIN: return sinf(x);
    case U_COS: return cosf(x);
    case U_IDENTITY: return x;
    case U_TRUNC: return truncf(x);
    case U_NONZERO: return x != 0.0f ? 1.0f : 0.0f;
    case U_STEP: return isnan(x) ? x : (x > 0 ? 1.0f : p0);
    case U_ELU: return x >= 0 ? x : expf(x) - 1.0f;
    case U_RELU6: return fminf(fmaxf(x, 0.0f), 6.0f);
    case U_LOGICAL_NOT: return x != 0.0f ? 0.0f : 1.0f;
    case U_ISNAN: return isnan(x) ? 1.0f : 0.0f;
    case U_ISINF: return isinf(x) ? 1.0f : 0.0f;
    case U_ISFINITE: return isfinite(x) ? 1.0f : 0.0f;
    case U_CLIP: return isnan(x) ? x : fminf(fmaxf(x, p0), p1);
    case U_LEAKYRELU: return x < 0 ? p0 * x : x;
    case U_SELU: return x >= 0 ? 1.0507009873554804934193349852946f * x
                               : 1.7580993408473768599402175208123f * (expf(x) - 1.0f);
    case U_GELU_TANH: {
      float inner = 0.7978845608028654f * (x + 0.044715f * x * x * x);
      return 0.5f * x * (1.0f + tanhf(inner));
    }
  }
  return x;
}

template <int OP>
__global__ void unaryKernelT(const float* __restrict__ x, float* __restrict__ y, int64_t n, float p0, float p1) {
  GRID_LOOP(i, n) y[i] = unaryOp(OP, x[i], p0, p1);
}
__global__ void unaryKernel(int op, const float* __restrict__ x, float* __restrict__ y, int64_t n, float p0, float p1) {
  GRID_LOOP(i, n) y[i] = unaryOp(op, x[i], p0, p1);
}

// unary(op, x, y, n, p0, p1)
static napi_value Unary(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int op = a.i32(0);
  int64_t n = a.i64(3);
  float p0 = a.argc > 4 ? (float)a.d(4) : 0.f, p1 = a.argc > 5 ? (float)a.d(5) : 0.f;
  if (n > 0) unaryKernel<<<blocksFor(n), 256, 0, g_stream>>>(op, a.fp(1), a.fp(2), n, p0, p1);
  LAUNCH_CHECK(env);
  return undef(env);
}

enum BinaryOp {
  B_ADD = 0, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_POW, B_SQDIFF, B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE,
  B_AND, B_OR, B_FLOORDIV, B_ATAN2, B_MOD, B_DIVNONAN, B_PRELU
};

__device__ __forceinline__ float binaryOp(int op, float a, float b) {
  switch (op) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_MAX: return (isnan(a) || isnan(b)) ? nanf("") : fmaxf(a, b);
    case B_MIN: return (isnan(a) || isnan(b)) ? nanf("") : fminf(a, b);
    case B_POW: return powf(a, b);
    case B_SQDIFF: { float d = a - b; return d * d; }
    case B_EQ: return a == b ? 1.f : 0.f;
    case B_NE: return a != b ? 1.f : 0.f;
    case B_LT: return a < b ? 1.f : 0.f;
    case B_LE: return a <= b ? 1.f : 0.f;
    case B_GT: return a > b ? 1.f : 0.f;
    case B_GE: return a >= b ? 1.f : 0.f;
    case B_AND: return (a != 0.f && b != 0.f) ? 1.f : 0.f;
    case B_OR: return (a != 0.f || b != 0.f) ? 1.f : 0.f;
    case B_FLOORDIV: return floorf(a / b);
    case B_ATAN2: return atan2f(a, b);
    case B_MOD: { float r = fmodf(a, b); return ((r < 0 && b > 0) || (r > 0 && b < 0)) ? r + b : r; }
    case B_DIVNONAN: return b == 0.f ? 0.f : a / b;
    case B_PRELU: return a < 0 ? a * b : a;
  }
  return 0.f;
}

#define MAXR 6
struct Bcast {
  int rank;
  int64_t shape[MAXR];  // output shape
  int64_t sa[MAXR];     // a's strides over the output index (0 where broadcast)
  int64_t sb[MAXR];
};

// a or b null: that operand is the scalar sa / sb
__global__ void binarySameKernel(int op, const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ y,
                                 int64_t n, float sa, float sb) {
  if (a && b) {
    GRID_LOOP(i, n) y[i] = binaryOp(op, a[i], b[i]);
  } else if (a) {
    GRID_LOOP(i, n) y[i] = binaryOp(op, a[i], sb);
  } else if (b) {
    GRID_LOOP(i, n) y[i] = binaryOp(op, sa, b[i]);
  } else {
    GRID_LOOP(i, n) y[i] = binaryOp(op, sa, sb);
  }
}

// I: the index type (32-bit when every offset fits: 64-bit division is slow on the GPU)
template <typename I>
__global__ void binaryBcastKernel(int op, const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ y,
                                  I n, Bcast bc) {
  for (I i = blockIdx.x * (I)blockDim.x + threadIdx.x; i < n; i += (I)gridDim.x * blockDim.x) {
    I r = i, ia = 0, ib = 0;
    for (int d = bc.rank - 1; d >= 0; d--) {
      I sd = (I)bc.shape[d];
      I c = r % sd;
      r /= sd;
      ia += c * (I)bc.sa[d];
      ib += c * (I)bc.sb[d];
    }
    y[i] = binaryOp(op, a[ia], b[ib]);
  }
}

// binary(op, a, b, y, n, scalarA, scalarB) - same shapes, or a/b = 0 for a scalar operand
static napi_value Binary(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t n = a.i64(4);
  if (n > 0)
    binarySameKernel<<<blocksFor(n), 256, 0, g_stream>>>(a.i32(0), a.fp(1), a.fp(2), a.fp(3), n, (float)a.d(5),
                                                          (float)a.d(6));
  LAUNCH_CHECK(env);
  return undef(env);
}

// binaryBcast(op, a, b, y, Float64Array[rank*3]: shape, strideA, strideB)
static napi_value BinaryBcast(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t len;
  double* s = (double*)a.typed(4, &len);
  if (!a.ok || len % 3 || len / 3 > MAXR) return throwErr(env, "binaryBcast: bad shape info");
  Bcast bc;
  bc.rank = (int)(len / 3);
  int64_t n = 1;
  for (int d = 0; d < bc.rank; d++) {
    bc.shape[d] = (int64_t)s[d];
    bc.sa[d] = (int64_t)s[bc.rank + d];
    bc.sb[d] = (int64_t)s[2 * bc.rank + d];
    n *= bc.shape[d];
  }
  if (n > 0 && n < (int64_t)1 << 31)
    binaryBcastKernel<uint32_t><<<blocksFor(n), 256, 0, g_stream>>>(a.i32(0), a.fp(1), a.fp(2), a.fp(3), (uint32_t)n, bc);
  else if (n > 0)
    binaryBcastKernel<int64_t><<<blocksFor(n), 256, 0, g_stream>>>(a.i32(0), a.fp(1), a.fp(2), a.fp(3), n, bc);
  LAUNCH_CHECK(env);
  return undef(env);
}

// select(cond, a, b, y, n): y = cond ? a : b (same shapes)
__global__ void selectKernel(const float* c, const float* a, const float* b, float* y, int64_t n) {
  GRID_LOOP(i, n) y[i] = c[i] != 0.f ? a[i] : b[i];
}
static napi_value Select(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t n = a.i64(4);
  if (n > 0) selectKernel<<<blocksFor(n), 256, 0, g_stream>>>(a.fp(0), a.fp(1), a.fp(2), a.fp(3), n);
  LAUNCH_CHECK(env);
  return undef(env);
}

// ---------------------------------------------------------------------------------------------
// Layout: one strided copy serves transpose, slice, pad, concat, broadcastTo, tile-free splits.
// y[yOff + sum c_d * ys_d] = x[xOff + sum c_d * xs_d] for every index c of `shape`.
struct Strided {
  int rank;
  int64_t shape[MAXR];
  int64_t xs[MAXR];
  int64_t ys[MAXR];
};
template <typename I>
__global__ void stridedCopyKernel(const float* __restrict__ x, float* __restrict__ y, I n, Strided st) {
  for (I i = blockIdx.x * (I)blockDim.x + threadIdx.x; i < n; i += (I)gridDim.x * blockDim.x) {
    I r = i, ix = 0, iy = 0;
    for (int d = st.rank - 1; d >= 0; d--) {
      I sd = (I)st.shape[d];
      I c = r % sd;
      r /= sd;
      ix += c * (I)st.xs[d];
      iy += c * (I)st.ys[d];
    }
    y[iy] = x[ix];
  }
}
// stridedCopy(x, xOff, y, yOff, Float64Array[rank*3]: shape, xStrides, yStrides)
static napi_value StridedCopy(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t len;
  double* s = (double*)a.typed(4, &len);
  if (!a.ok || len % 3 || len / 3 > MAXR) return throwErr(env, "stridedCopy: bad shape info");
  Strided st;
  st.rank = (int)(len / 3);
  int64_t n = 1;
  for (int d = 0; d < st.rank; d++) {
    st.shape[d] = (int64_t)s[d];
    st.xs[d] = (int64_t)s[st.rank + d];
    st.ys[d] = (int64_t)s[2 * st.rank + d];
    n *= st.shape[d];
  }
  float* x = a.fp(0) + a.i64(1);
  float* y = a.fp(2) + a.i64(3);
  // offsets stay below n * max stride; 32-bit when that fits
  int64_t span = 1;
  for (int d = 0; d < st.rank; d++) span += (st.shape[d] - 1) * (st.xs[d] > st.ys[d] ? st.xs[d] : st.ys[d]);
  if (n > 0 && n < ((int64_t)1 << 31) && span < ((int64_t)1 << 31))
    stridedCopyKernel<uint32_t><<<blocksFor(n), 256, 0, g_stream>>>(x, y, (uint32_t)n, st);
  else if (n > 0)
    stridedCopyKernel<int64_t><<<blocksFor(n), 256, 0, g_stream>>>(x, y, n, st);
  LAUNCH_CHECK(env);
  return undef(env);
}

// gather(x, idx, y, outer, nIdx, dim, inner): y[o, i, k] = x[o, idx[i], k] (out-of-range: 0)
__global__ void gatherKernel(const float* __restrict__ x, const float* __restrict__ idx, float* __restrict__ y,
                             int64_t outer, int64_t nIdx, int64_t dim, int64_t inner) {
  int64_t n = outer * nIdx * inner;
  GRID_LOOP(i, n) {
    int64_t k = i % inner;
    int64_t j = (i / inner) % nIdx;
    int64_t o = i / (inner * nIdx);
    int64_t r = (int64_t)idx[j];
    y[i] = (r >= 0 && r < dim) ? x[(o * dim + r) * inner + k] : 0.f;
  }
}
static napi_value Gather(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t outer = a.i64(3), nIdx = a.i64(4), dim = a.i64(5), inner = a.i64(6);
  if (outer * nIdx * inner > 0)
    gatherKernel<<<blocksFor(outer * nIdx * inner), 256, 0, g_stream>>>(a.fp(0), a.fp(1), a.fp(2), outer, nIdx, dim,
                                                                        inner);
  LAUNCH_CHECK(env);
  return undef(env);
}

// segmentSum(x, ids, y, n, numSegments, inner): y zeroed, y[ids[i], k] += x[i, k]
__global__ void segmentSumKernel(const float* __restrict__ x, const float* __restrict__ ids, float* __restrict__ y,
                                 int64_t n, int64_t numSeg, int64_t inner) {
  int64_t total = n * inner;
  GRID_LOOP(i, total) {
    int64_t s = (int64_t)ids[i / inner];
    if (s >= 0 && s < numSeg) atomicAdd(&y[s * inner + i % inner], x[i]);
  }
}
static napi_value SegmentSum(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t n = a.i64(3), numSeg = a.i64(4), inner = a.i64(5);
  float* y = a.fp(2);
  CUDA_CHECK(env, cudaMemsetAsync(y, 0, numSeg * inner * 4, g_stream));
  if (n * inner > 0)
    segmentSumKernel<<<blocksFor(n * inner), 256, 0, g_stream>>>(a.fp(0), a.fp(1), y, n, numSeg, inner);
  LAUNCH_CHECK(env);
  return undef(env);
}

// oneHot(idx, y, n, depth, on, off)
__global__ void oneHotKernel(const float* __restrict__ idx, float* __restrict__ y, int64_t n, int64_t depth, float on,
                             float off) {
  int64_t total = n * depth;
  GRID_LOOP(i, total) {
    int64_t r = i / depth, c = i % depth;
    y[i] = ((int64_t)idx[r] == c) ? on : off;
  }
}
static napi_value OneHot(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t n = a.i64(2), depth = a.i64(3);
  if (n * depth > 0)
    oneHotKernel<<<blocksFor(n * depth), 256, 0, g_stream>>>(a.fp(0), a.fp(1), n, depth, (float)a.d(4), (float)a.d(5));
  LAUNCH_CHECK(env);
  return undef(env);
}

// ---------------------------------------------------------------------------------------------
// Reductions over the middle axis of (outer, mid, inner): y[o, i] = op_m x[o, m, i]

enum ReduceOp { R_SUM = 0, R_MAX, R_MIN, R_MEAN, R_PROD, R_ANY, R_ALL, R_ARGMAX, R_ARGMIN };

__device__ __forceinline__ float rInit(int op) {
  switch (op) {
    case R_MAX: return -INFINITY;
    case R_MIN: return INFINITY;
    case R_PROD: case R_ALL: return 1.f;
    default: return 0.f;
  }
}
__device__ __forceinline__ float rCombine(int op, float acc, float v) {
  switch (op) {
    case R_MAX: return (isnan(acc) || isnan(v)) ? nanf("") : fmaxf(acc, v);
    case R_MIN: return (isnan(acc) || isnan(v)) ? nanf("") : fminf(acc, v);
    case R_PROD: return acc * v;
    case R_ANY: return (acc != 0.f || v != 0.f) ? 1.f : 0.f;
    case R_ALL: return (acc != 0.f && v != 0.f) ? 1.f : 0.f;
    default: return acc + v;
  }
}

// inner == 1: one block per row
__global__ void reduceRowsKernel(int op, const float* __restrict__ x, float* __restrict__ y, int64_t mid) {
  const float* row = x + blockIdx.x * mid;
  float acc = rInit(op);
  for (int64_t m = threadIdx.x; m < mid; m += blockDim.x) acc = rCombine(op, acc, row[m]);
  __shared__ float sh[32];
  for (int o = 16; o > 0; o >>= 1) acc = rCombine(op, acc, __shfl_xor_sync(0xffffffff, acc, o));
  int w = threadIdx.x / 32, l = threadIdx.x % 32;
  if (l == 0) sh[w] = acc;
  __syncthreads();
  if (w == 0) {
    acc = l < (int)(blockDim.x / 32) ? sh[l] : rInit(op);
    for (int o = 16; o > 0; o >>= 1) acc = rCombine(op, acc, __shfl_xor_sync(0xffffffff, acc, o));
    if (l == 0) y[blockIdx.x] = op == R_MEAN ? acc / (float)mid : acc;
  }
}

// inner > 1: block (32 x 8); x threads over inner, y threads stride over mid; grid (ceil(inner/32), outer)
__global__ void reduceColsKernel(int op, const float* __restrict__ x, float* __restrict__ y, int64_t mid, int64_t inner) {
  int64_t i = blockIdx.x * 32 + threadIdx.x;
  int64_t o = blockIdx.y;
  float acc = rInit(op);
  if (i < inner)
    for (int64_t m = threadIdx.y; m < mid; m += blockDim.y) acc = rCombine(op, acc, x[(o * mid + m) * inner + i]);
  __shared__ float sh[8][33];
  sh[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && i < inner) {
    for (int k = 1; k < (int)blockDim.y; k++) acc = rCombine(op, acc, sh[k][threadIdx.x]);
    y[o * inner + i] = op == R_MEAN ? acc / (float)mid : acc;
  }
}

__global__ void argReduceKernel(int op, const float* __restrict__ x, float* __restrict__ y, int64_t outer, int64_t mid,
                                int64_t inner) {
  int64_t n = outer * inner;
  GRID_LOOP(t, n) {
    int64_t o = t / inner, i = t % inner;
    const float* p = x + o * mid * inner + i;
    float best = p[0];
    int64_t bi = 0;
    for (int64_t m = 1; m < mid; m++) {
      float v = p[m * inner];
      if (op == R_ARGMAX ? v > best : v < best) {
        best = v;
        bi = m;
      }
    }
    y[t] = (float)bi;
  }
}

// reduce(op, x, y, outer, mid, inner)
static napi_value Reduce(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int op = a.i32(0);
  int64_t outer = a.i64(3), mid = a.i64(4), inner = a.i64(5);
  if (outer * inner == 0) return undef(env);
  if (op == R_ARGMAX || op == R_ARGMIN) {
    argReduceKernel<<<blocksFor(outer * inner), 256, 0, g_stream>>>(op, a.fp(1), a.fp(2), outer, mid, inner);
  } else if (inner == 1) {
    int threads = mid >= 1024 ? 512 : (mid >= 256 ? 256 : 64);
    reduceRowsKernel<<<(unsigned)outer, threads, 0, g_stream>>>(op, a.fp(1), a.fp(2), mid);
  } else {
    dim3 grid((unsigned)((inner + 31) / 32), (unsigned)outer);
    reduceColsKernel<<<grid, dim3(32, 8), 0, g_stream>>>(op, a.fp(1), a.fp(2), mid, inner);
  }
  LAUNCH_CHECK(env);
  return undef(env);
}

// softmax over the last axis: (rows, cols); logSoftmax if log
__global__ void softmaxKernel(const float* __restrict__ x, float* __restrict__ y, int64_t cols, int log) {
  const float* row = x + blockIdx.x * cols;
  float* out = y + blockIdx.x * cols;
  __shared__ float sh[32];
  __shared__ float bc;
  int w = threadIdx.x / 32, l = threadIdx.x % 32, nw = blockDim.x / 32;
  float m = -INFINITY;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) m = fmaxf(m, row[c]);
  for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffff, m, o));
  if (l == 0) sh[w] = m;
  __syncthreads();
  if (w == 0) {
    m = l < nw ? sh[l] : -INFINITY;
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffff, m, o));
    if (l == 0) bc = m;
  }
  __syncthreads();
  m = bc;
  float s = 0.f;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) s += expf(row[c] - m);
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffff, s, o);
  __syncthreads();
  if (l == 0) sh[w] = s;
  __syncthreads();
  if (w == 0) {
    s = l < nw ? sh[l] : 0.f;
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffff, s, o);
    if (l == 0) bc = s;
  }
  __syncthreads();
  s = bc;
  if (log) {
    float ls = logf(s);
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) out[c] = row[c] - m - ls;
  } else {
    float inv = 1.f / s;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) out[c] = expf(row[c] - m) * inv;
  }
}
// softmax(x, y, rows, cols, log)
static napi_value Softmax(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t rows = a.i64(2), cols = a.i64(3);
  int threads = cols >= 1024 ? 512 : (cols >= 256 ? 256 : (cols >= 64 ? 64 : 32));
  if (rows > 0) softmaxKernel<<<(unsigned)rows, threads, 0, g_stream>>>(a.fp(0), a.fp(1), cols, a.i32(4));
  LAUNCH_CHECK(env);
  return undef(env);
}

// ---------------------------------------------------------------------------------------------
// Matmul through cuBLAS. Row-major C (M x N) = op(A) op(B), batched with strides (0 = broadcast).
// Column-major view: C^T = op(B)^T op(A)^T.

__global__ void toBf16Kernel(const float* __restrict__ x, __nv_bfloat16* __restrict__ y, int64_t n) {
  GRID_LOOP(i, n) y[i] = __float2bfloat16(x[i]);
}

static void* g_bfA = nullptr;
static void* g_bfB = nullptr;
static size_t g_bfACap = 0, g_bfBCap = 0;
static bool ensureScratch(void** p, size_t* cap, size_t bytes) {
  if (*cap >= bytes) return true;
  if (*p) {
    cudaStreamSynchronize(g_stream);
    cudaFree(*p);
    g_reserved -= *cap;
  }
  size_t want = bytes + bytes / 4;
  if (cudaMalloc(p, want) != cudaSuccess) {
    *p = nullptr;
    *cap = 0;
    return false;
  }
  *cap = want;
  g_reserved += want;
  g_mallocs++;
  return true;
}

// matmul(A, B, C, batch, M, N, K, transA, transB, strideA, strideB, alpha, beta)
// strideA/B in elements (0 = the same matrix for every batch); C is dense (M*N per batch).
static napi_value Matmul(napi_env env, napi_callback_info info) {
  Args a(env, info);
  float* A = a.fp(0);
  float* B = a.fp(1);
  float* C = a.fp(2);
  int batch = a.i32(3), M = a.i32(4), N = a.i32(5), K = a.i32(6);
  bool tA = a.i32(7) != 0, tB = a.i32(8) != 0;
  int64_t sA = a.i64(9), sB = a.i64(10);
  float alpha = a.argc > 11 ? (float)a.d(11) : 1.f, beta = a.argc > 12 ? (float)a.d(12) : 0.f;
  if (!a.ok) return throwErr(env, "matmul: bad arguments");
  if (M == 0 || N == 0 || batch == 0) return undef(env);
  if (K == 0) {
    fillKernel<<<blocksFor((int64_t)batch * M * N), 256, 0, g_stream>>>(C, (int64_t)batch * M * N, 0.f);
    LAUNCH_CHECK(env);
    return undef(env);
  }
  cublasOperation_t opA = tA ? CUBLAS_OP_T : CUBLAS_OP_N, opB = tB ? CUBLAS_OP_T : CUBLAS_OP_N;
  int lda = tA ? M : K, ldb = tB ? K : N;
  int64_t sC = (int64_t)M * N;
  const void* Ap = A;
  const void* Bp = B;
  cudaDataType_t ty = CUDA_R_32F;
  cublasComputeType_t ct = CUBLAS_COMPUTE_32F;
  if (g_math == 1) ct = CUBLAS_COMPUTE_32F_FAST_TF32;
  if (g_math == 2) {
    int64_t nA = sA ? sA * batch : (int64_t)M * K, nB = sB ? sB * batch : (int64_t)K * N;
    if (!ensureScratch(&g_bfA, &g_bfACap, nA * 2) || !ensureScratch(&g_bfB, &g_bfBCap, nB * 2))
      return throwErr(env, "matmul: bf16 scratch allocation failed");
    toBf16Kernel<<<blocksFor(nA), 256, 0, g_stream>>>(A, (__nv_bfloat16*)g_bfA, nA);
    toBf16Kernel<<<blocksFor(nB), 256, 0, g_stream>>>(B, (__nv_bfloat16*)g_bfB, nB);
    LAUNCH_CHECK(env);
    Ap = g_bfA;
    Bp = g_bfB;
    ty = CUDA_R_16BF;
  }
  cublasStatus_t s = cublasGemmStridedBatchedEx(g_blas, opB, opA, N, M, K, &alpha, Bp, ty, ldb, sB, Ap, ty, lda, sA, &beta,
                                                C, CUDA_R_32F, N, sC, batch, ct, CUBLAS_GEMM_DEFAULT);
  if (s != CUBLAS_STATUS_SUCCESS) return throwErr(env, "cublasGemmStridedBatchedEx failed: status " + std::to_string((int)s));
  return undef(env);
}

// ---------------------------------------------------------------------------------------------
// Fused ops

// AdamW over many tensors in one launch. Table (device, float64 per entry x 5):
// [param ptr, grad ptr, m ptr, v ptr, n | decay<<40]... Scalars: lr, b1, b2, eps, wd, bc1, bc2, gradScale
struct AdamEntry {
  float* p;
  const float* g;
  float* m;
  float* v;
  int64_t n;
  int decay;
};
__global__ void adamwKernel(const AdamEntry* __restrict__ tab, int count, float lr, float b1, float b2, float eps,
                            float wd, float bc1, float bc2, const float* __restrict__ scalePtr) {
  float gs = scalePtr ? *scalePtr : 1.f;
  for (int e = blockIdx.y; e < count; e += gridDim.y) {
    AdamEntry t = tab[e];
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < t.n; i += (int64_t)gridDim.x * blockDim.x) {
      float g = t.g[i] * gs;
      float m = b1 * t.m[i] + (1.f - b1) * g;
      float v = b2 * t.v[i] + (1.f - b2) * g * g;
      t.m[i] = m;
      t.v[i] = v;
      float p = t.p[i];
      float u = (m / bc1) / (sqrtf(v / bc2) + eps);
      if (t.decay) u += wd * p;
      t.p[i] = p - lr * u;
    }
  }
}
static AdamEntry* g_adamTab = nullptr;
static int g_adamCap = 0;
// adamw(Float64Array[5*count]: p, g, m, v, n*2+decay ; lr, b1, b2, eps, wd, bc1, bc2, scalePtr)
static napi_value AdamW(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t len;
  double* t = (double*)a.typed(0, &len);
  if (!a.ok || len % 5) return throwErr(env, "adamw: bad table");
  int count = (int)(len / 5);
  std::vector<AdamEntry> host(count);
  int64_t maxN = 0;
  for (int i = 0; i < count; i++) {
    host[i].p = (float*)(uintptr_t)t[5 * i];
    host[i].g = (const float*)(uintptr_t)t[5 * i + 1];
    host[i].m = (float*)(uintptr_t)t[5 * i + 2];
    host[i].v = (float*)(uintptr_t)t[5 * i + 3];
    int64_t code = (int64_t)t[5 * i + 4];
    host[i].n = code >> 1;
    host[i].decay = (int)(code & 1);
    if (host[i].n > maxN) maxN = host[i].n;
  }
  if (count > g_adamCap) {
    if (g_adamTab) {
      cudaStreamSynchronize(g_stream);
      cudaFree(g_adamTab);
    }
    g_adamCap = count * 2;
    CUDA_CHECK(env, cudaMalloc(&g_adamTab, sizeof(AdamEntry) * g_adamCap));
  }
  // the table is copied from pageable memory: the copy is staged before this call returns
  CUDA_CHECK(env, cudaMemcpyAsync(g_adamTab, host.data(), sizeof(AdamEntry) * count, cudaMemcpyHostToDevice, g_stream));
  int bx = (int)((maxN + 255) / 256);
  if (bx > 64) bx = 64;
  if (bx < 1) bx = 1;
  dim3 grid(bx, count < 65535 ? count : 65535);
  adamwKernel<<<grid, 256, 0, g_stream>>>(g_adamTab, count, (float)a.d(1), (float)a.d(2), (float)a.d(3), (float)a.d(4),
                                          (float)a.d(5), (float)a.d(6), (float)a.d(7), a.fp(8));
  LAUNCH_CHECK(env);
  return undef(env);
}

// Layer norm over the last axis, rows x C: y = (x - mean) * rstd * g + b; saves mean, rstd (rows)
__global__ void layerNormFwdKernel(const float* __restrict__ x, const float* __restrict__ g, const float* __restrict__ b,
                                   float* __restrict__ y, float* __restrict__ meanOut, float* __restrict__ rstdOut,
                                   int64_t rows, int C, float eps) {
  int warp = (blockIdx.x * blockDim.x + threadIdx.x) / 32, lane = threadIdx.x % 32;
  if (warp >= rows) return;
  const float* xr = x + (int64_t)warp * C;
  float s = 0.f;
  for (int c = lane; c < C; c += 32) s += xr[c];
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffff, s, o);
  float mean = s / C;
  float v = 0.f;
  for (int c = lane; c < C; c += 32) {
    float d = xr[c] - mean;
    v += d * d;
  }
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffff, v, o);
  float rstd = rsqrtf(v / C + eps);
  float* yr = y + (int64_t)warp * C;
  for (int c = lane; c < C; c += 32) yr[c] = (xr[c] - mean) * rstd * g[c] + b[c];
  if (lane == 0) {
    meanOut[warp] = mean;
    rstdOut[warp] = rstd;
  }
}
// layerNorm(x, g, b, y, mean, rstd, rows, C, eps)
static napi_value LayerNormFwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t rows = a.i64(6);
  int C = a.i32(7);
  if (rows > 0)
    layerNormFwdKernel<<<(unsigned)((rows * 32 + 255) / 256), 256, 0, g_stream>>>(
        a.fp(0), a.fp(1), a.fp(2), a.fp(3), a.fp(4), a.fp(5), rows, C, (float)a.d(8));
  LAUNCH_CHECK(env);
  return undef(env);
}
// dx per row (warp per row); dg, db partial sums accumulated with atomics into zeroed dg, db
__global__ void layerNormBwdKernel(const float* __restrict__ dy, const float* __restrict__ x, const float* __restrict__ g,
                                   const float* __restrict__ mean, const float* __restrict__ rstd, float* __restrict__ dx,
                                   float* __restrict__ dg, float* __restrict__ db, int64_t rows, int C) {
  int warp = (blockIdx.x * blockDim.x + threadIdx.x) / 32, lane = threadIdx.x % 32;
  if (warp >= rows) return;
  const float* dyr = dy + (int64_t)warp * C;
  const float* xr = x + (int64_t)warp * C;
  float mu = mean[warp], rs = rstd[warp];
  float s1 = 0.f, s2 = 0.f;  // sum(dy*g), sum(dy*g*xhat)
  for (int c = lane; c < C; c += 32) {
    float xh = (xr[c] - mu) * rs;
    float dyg = dyr[c] * g[c];
    s1 += dyg;
    s2 += dyg * xh;
    atomicAdd(&dg[c], dyr[c] * xh);
    atomicAdd(&db[c], dyr[c]);
  }
  for (int o = 16; o > 0; o >>= 1) {
    s1 += __shfl_xor_sync(0xffffffff, s1, o);
    s2 += __shfl_xor_sync(0xffffffff, s2, o);
  }
  s1 /= C;
  s2 /= C;
  float* dxr = dx + (int64_t)warp * C;
  for (int c = lane; c < C; c += 32) {
    float xh = (xr[c] - mu) * rs;
    dxr[c] = rs * (dyr[c] * g[c] - s1 - xh * s2);
  }
}
// layerNormBwd(dy, x, g, mean, rstd, dx, dg, db, rows, C)
static napi_value LayerNormBwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t rows = a.i64(8);
  int C = a.i32(9);
  CUDA_CHECK(env, cudaMemsetAsync(a.fp(6), 0, (size_t)C * 4, g_stream));
  CUDA_CHECK(env, cudaMemsetAsync(a.fp(7), 0, (size_t)C * 4, g_stream));
  if (rows > 0)
    layerNormBwdKernel<<<(unsigned)((rows * 32 + 255) / 256), 256, 0, g_stream>>>(
        a.fp(0), a.fp(1), a.fp(2), a.fp(3), a.fp(4), a.fp(5), a.fp(6), a.fp(7), rows, C);
  LAUNCH_CHECK(env);
  return undef(env);
}

// GELU (tanh) backward: dx = dy * gelu'(x)
__global__ void geluBwdKernel(const float* __restrict__ dy, const float* __restrict__ x, float* __restrict__ dx, int64_t n) {
  GRID_LOOP(i, n) {
    float v = x[i];
    const float k = 0.7978845608028654f;
    float inner = k * (v + 0.044715f * v * v * v);
    float t = tanhf(inner);
    float d = 0.5f * (1.f + t) + 0.5f * v * (1.f - t * t) * k * (1.f + 3.f * 0.044715f * v * v);
    dx[i] = dy[i] * d;
  }
}
static napi_value GeluBwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t n = a.i64(3);
  if (n > 0) geluBwdKernel<<<blocksFor(n), 256, 0, g_stream>>>(a.fp(0), a.fp(1), a.fp(2), n);
  LAUNCH_CHECK(env);
  return undef(env);
}

// bias add over rows: y[r, c] = x[r, c] + b[c]  (in place allowed)
// Per-token log-prob of the target: logits (rows, V), targets (rows) -> logp (rows), lse (rows)
__global__ void tokenLogpKernel(const float* __restrict__ logits, const float* __restrict__ tgt, float* __restrict__ logp,
                                float* __restrict__ lse, int V) {
  const float* row = logits + (int64_t)blockIdx.x * V;
  __shared__ float sh[32];
  __shared__ float bc;
  int w = threadIdx.x / 32, l = threadIdx.x % 32, nw = blockDim.x / 32;
  float m = -INFINITY;
  for (int c = threadIdx.x; c < V; c += blockDim.x) m = fmaxf(m, row[c]);
  for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffff, m, o));
  if (l == 0) sh[w] = m;
  __syncthreads();
  if (w == 0) {
    m = l < nw ? sh[l] : -INFINITY;
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffff, m, o));
    if (l == 0) bc = m;
  }
  __syncthreads();
  m = bc;
  float s = 0.f;
  for (int c = threadIdx.x; c < V; c += blockDim.x) s += expf(row[c] - m);
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffff, s, o);
  __syncthreads();
  if (l == 0) sh[w] = s;
  __syncthreads();
  if (threadIdx.x == 0) {
    float t = 0.f;
    for (int k = 0; k < nw; k++) t += sh[k];
    float L = m + logf(t);
    int ti = (int)tgt[blockIdx.x];
    lse[blockIdx.x] = L;
    logp[blockIdx.x] = (ti >= 0 && ti < V) ? row[ti] - L : 0.f;
  }
}
// tokenLogp(logits, targets, logp, lse, rows, V)
static napi_value TokenLogp(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t rows = a.i64(4);
  if (rows > 0) tokenLogpKernel<<<(unsigned)rows, 512, 0, g_stream>>>(a.fp(0), a.fp(1), a.fp(2), a.fp(3), a.i32(5));
  LAUNCH_CHECK(env);
  return undef(env);
}
// dlogits[r, c] = dlogp[r] * (onehot(t)[c] - softmax[r, c])
__global__ void tokenLogpBwdKernel(const float* __restrict__ logits, const float* __restrict__ tgt,
                                   const float* __restrict__ lse, const float* __restrict__ dlogp, float* __restrict__ dl,
                                   int64_t rows, int V) {
  // one block row per token row: no per-element division
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* lr = logits + r * V;
    float* dr = dl + r * V;
    float L = lse[r], g = dlogp[r];
    int t = (int)tgt[r];
    for (int c = threadIdx.x; c < V; c += blockDim.x) dr[c] = g * ((t == c ? 1.f : 0.f) - expf(lr[c] - L));
  }
}
static napi_value TokenLogpBwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t rows = a.i64(5);
  int V = a.i32(6);
  if (rows * V > 0)
    tokenLogpBwdKernel<<<(unsigned)(rows < 65535 ? rows : 65535), 256, 0, g_stream>>>(a.fp(0), a.fp(1), a.fp(2), a.fp(3),
                                                                                       a.fp(4), rows, V);
  LAUNCH_CHECK(env);
  return undef(env);
}

// Global gradient norm over many tensors: norm[0] = sqrt(sum g^2) * scaleBy;
// factor[0] = scaleBy * (maxNorm > 0 ? min(1, maxNorm / (norm + 1e-6)) : 1).
struct PtrN {
  const float* p;
  float* q;
  int64_t n;
};
static PtrN* g_tab = nullptr;
static int g_tabCap = 0;
static float* g_acc = nullptr;  // one double-width accumulator
static bool uploadTable(const std::vector<PtrN>& host) {
  if ((int)host.size() > g_tabCap) {
    if (g_tab) {
      cudaStreamSynchronize(g_stream);
      cudaFree(g_tab);
    }
    g_tabCap = (int)host.size() * 2;
    if (cudaMalloc(&g_tab, sizeof(PtrN) * g_tabCap) != cudaSuccess) return false;
  }
  return cudaMemcpyAsync(g_tab, host.data(), sizeof(PtrN) * host.size(), cudaMemcpyHostToDevice, g_stream) == cudaSuccess;
}
__global__ void sumSquaresKernel(const PtrN* __restrict__ tab, int count, double* __restrict__ acc) {
  double s = 0;
  for (int e = blockIdx.y; e < count; e += gridDim.y) {
    PtrN t = tab[e];
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < t.n; i += (int64_t)gridDim.x * blockDim.x) {
      float v = t.p[i];
      s += (double)v * v;
    }
  }
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffff, s, o);
  __shared__ double sh[32];
  int w = threadIdx.x / 32, l = threadIdx.x % 32;
  if (l == 0) sh[w] = s;
  __syncthreads();
  if (threadIdx.x == 0) {
    double t = 0;
    for (int k = 0; k < (int)(blockDim.x / 32); k++) t += sh[k];
    atomicAdd(acc, t);
  }
}
__global__ void clipFinalizeKernel(const double* acc, float* norm, float* factor, float maxNorm, float scaleBy) {
  float nrm = (float)sqrt(*acc) * scaleBy;
  *norm = nrm;
  float f = maxNorm > 0 ? fminf(1.f, maxNorm / (nrm + 1e-6f)) : 1.f;
  *factor = f * scaleBy;
}
__global__ void scaleManyKernel(const PtrN* __restrict__ tab, int count, const float* __restrict__ factor) {
  float f = *factor;
  for (int e = blockIdx.y; e < count; e += gridDim.y) {
    PtrN t = tab[e];
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < t.n; i += (int64_t)gridDim.x * blockDim.x)
      t.q[i] = t.p[i] * f;
  }
}
// clipGrads(Float64Array[3*count]: src, dst, n ; norm, factor, maxNorm, scaleBy): dst = src * factor
static napi_value ClipGrads(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t len;
  double* t = (double*)a.typed(0, &len);
  if (!a.ok || len % 3) return throwErr(env, "clipGrads: bad table");
  int count = (int)(len / 3);
  std::vector<PtrN> host(count);
  int64_t maxN = 1;
  for (int i = 0; i < count; i++) {
    host[i].p = (const float*)(uintptr_t)t[3 * i];
    host[i].q = (float*)(uintptr_t)t[3 * i + 1];
    host[i].n = (int64_t)t[3 * i + 2];
    if (host[i].n > maxN) maxN = host[i].n;
  }
  float* norm = a.fp(1);
  float* factor = a.fp(2);
  if (!g_acc) CUDA_CHECK(env, cudaMalloc(&g_acc, 16));
  CUDA_CHECK(env, cudaMemsetAsync(g_acc, 0, 8, g_stream));
  if (!uploadTable(host)) return throwErr(env, "clipGrads: table upload failed");
  int bx = (int)((maxN + 255) / 256);
  if (bx > 32) bx = 32;
  dim3 grid(bx, count < 65535 ? count : 65535);
  if (count > 0) sumSquaresKernel<<<grid, 256, 0, g_stream>>>(g_tab, count, (double*)g_acc);
  clipFinalizeKernel<<<1, 1, 0, g_stream>>>((double*)g_acc, norm, factor, (float)a.d(3), (float)a.d(4));
  if (count > 0) scaleManyKernel<<<grid, 256, 0, g_stream>>>(g_tab, count, factor);
  LAUNCH_CHECK(env);
  return undef(env);
}

// Attention probabilities: y = softmax(scale * s + causal mask) over the last axis of
// (batch, T, S) rows, where query t (of T) sees keys 0..(S - T + t).
__global__ void causalSoftmaxKernel(const float* __restrict__ x, float* __restrict__ y, int T, int S, float scale) {
  int64_t row = blockIdx.x;
  int t = (int)(row % T);
  int limit = S - T + t;  // last visible key
  const float* xr = x + row * S;
  float* yr = y + row * S;
  __shared__ float sh[32];
  __shared__ float bc;
  int w = threadIdx.x / 32, l = threadIdx.x % 32, nw = blockDim.x / 32;
  float m = -INFINITY;
  for (int c = threadIdx.x; c <= limit; c += blockDim.x) m = fmaxf(m, xr[c] * scale);
  for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffff, m, o));
  if (l == 0) sh[w] = m;
  __syncthreads();
  if (w == 0) {
    m = l < nw ? sh[l] : -INFINITY;
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffff, m, o));
    if (l == 0) bc = m;
  }
  __syncthreads();
  m = bc;
  float s = 0.f;
  for (int c = threadIdx.x; c <= limit; c += blockDim.x) s += expf(xr[c] * scale - m);
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffff, s, o);
  __syncthreads();
  if (l == 0) sh[w] = s;
  __syncthreads();
  if (w == 0) {
    s = l < nw ? sh[l] : 0.f;
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffff, s, o);
    if (l == 0) bc = s;
  }
  __syncthreads();
  float inv = 1.f / bc;
  for (int c = threadIdx.x; c < S; c += blockDim.x) yr[c] = c <= limit ? expf(xr[c] * scale - m) * inv : 0.f;
}
// dx = scale * y * (dy - sum(dy * y))
__global__ void softmaxBwdKernel(const float* __restrict__ dy, const float* __restrict__ y, float* __restrict__ dx, int S,
                                 float scale) {
  int64_t row = blockIdx.x;
  const float* dyr = dy + row * S;
  const float* yr = y + row * S;
  float* dxr = dx + row * S;
  __shared__ float sh[32];
  __shared__ float bc;
  int w = threadIdx.x / 32, l = threadIdx.x % 32, nw = blockDim.x / 32;
  float s = 0.f;
  for (int c = threadIdx.x; c < S; c += blockDim.x) s += dyr[c] * yr[c];
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffff, s, o);
  if (l == 0) sh[w] = s;
  __syncthreads();
  if (w == 0) {
    s = l < nw ? sh[l] : 0.f;
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffff, s, o);
    if (l == 0) bc = s;
  }
  __syncthreads();
  s = bc;
  for (int c = threadIdx.x; c < S; c += blockDim.x) dxr[c] = scale * yr[c] * (dyr[c] - s);
}
static int rowThreads(int64_t cols) { return cols >= 1024 ? 512 : (cols >= 256 ? 256 : (cols >= 64 ? 64 : 32)); }
// causalSoftmax(x, y, rows, T, S, scale)
static napi_value CausalSoftmax(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t rows = a.i64(2);
  int T = a.i32(3), S = a.i32(4);
  if (rows > 0) causalSoftmaxKernel<<<(unsigned)rows, rowThreads(S), 0, g_stream>>>(a.fp(0), a.fp(1), T, S, (float)a.d(5));
  LAUNCH_CHECK(env);
  return undef(env);
}
// softmaxBwd(dy, y, dx, rows, S, scale)
static napi_value SoftmaxBwd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t rows = a.i64(3);
  int S = a.i32(4);
  if (rows > 0) softmaxBwdKernel<<<(unsigned)rows, rowThreads(S), 0, g_stream>>>(a.fp(0), a.fp(1), a.fp(2), S, (float)a.d(5));
  LAUNCH_CHECK(env);
  return undef(env);
}

// ---------------------------------------------------------------------------------------------
// Generation: batched decoding with a KV cache (decodeNew / decodeStep / decodeFree)

#include "pairwise_decode.cuh"

// ---------------------------------------------------------------------------------------------
// Module

#define FN(name, f) {name, nullptr, f, nullptr, nullptr, nullptr, napi_default, nullptr}

static napi_value ModuleInit(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      FN("init", Init),
      FN("setMath", SetMath),
      FN("alloc", Alloc),
      FN("free", Free),
      FN("memStats", MemStats),
      FN("upload", Upload),
      FN("download", Download),
      FN("sync", Sync),
      FN("copy", Copy),
      FN("fill", Fill),
      FN("unary", Unary),
      FN("binary", Binary),
      FN("binaryBcast", BinaryBcast),
      FN("select", Select),
      FN("stridedCopy", StridedCopy),
      FN("gather", Gather),
      FN("segmentSum", SegmentSum),
      FN("oneHot", OneHot),
      FN("reduce", Reduce),
      FN("softmax", Softmax),
      FN("matmul", Matmul),
      FN("adamw", AdamW),
      FN("layerNorm", LayerNormFwd),
      FN("layerNormBwd", LayerNormBwd),
      FN("geluBwd", GeluBwd),
      FN("tokenLogp", TokenLogp),
      FN("tokenLogpBwd", TokenLogpBwd),
      FN("clipGrads", ClipGrads),
      FN("causalSoftmax", CausalSoftmax),
      FN("softmaxBwd", SoftmaxBwd),
      DECODE_EXPORTS
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, ModuleInit)
