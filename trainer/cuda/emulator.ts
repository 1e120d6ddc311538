// A JavaScript stand-in for the CUDA addon (same interface, same semantics, one flat float32 heap
// as "device memory"), so the `cuda` backend's TypeScript side - kernel selection, shapes,
// strides, broadcasting, reductions, storage and the CPU fallback - is tested on machines without
// a GPU (tests/unit/trainer/cuda-backend.test.ts). It is slow and only for tests.
import type { CudaAddon } from "./addon";
import { emulatedDecode } from "./emulator-decode";

const BASE = 4096; // first "device address" (0 stays the null pointer)

export function createEmulatedAddon(): CudaAddon & { heapFloats(): number } {
  let heap = new Float32Array(1 << 16);
  let top = BASE;
  const live = new Map<number, number>();
  const free = new Map<number, number[]>();
  let inUse = 0;
  let reserved = 0;
  let peak = 0;
  let mallocs = 0;
  let math = 0;
  const round = (n: number) => Math.max(512, Math.ceil(n / 512) * 512);
  const at = (p: number) => (p - BASE) / 4; // element index of a pointer
  const f32 = Math.fround;
  const fb = new Float32Array(1);
  const ub = new Uint32Array(fb.buffer);
  // round to nearest even, keeping the top 16 (bf16) or 19 (tf32) bits of a float32
  const keepBits = (x: number, drop: number) => {
    fb[0] = x;
    const v = ub[0] as number;
    ub[0] = (((v + ((1 << (drop - 1)) - 1) + ((v >>> drop) & 1)) >>> drop) << drop) >>> 0;
    return fb[0] as number;
  };
  const bf16 = (x: number) => keepBits(x, 16);
  const tf32 = (x: number) => keepBits(x, 13);

  const unary = (op: number, x: number, p0: number, p1: number): number => {
    switch (op) {
      case 0:
        return -x;
      case 1:
        return x * x;
      case 2:
        return Math.sqrt(x);
      case 3:
        return 1 / Math.sqrt(x);
      case 4:
        return Math.exp(x);
      case 5:
        return Math.log(x);
      case 6:
        return Math.tanh(x);
      case 7: {
        const th = Math.log(1.1920928955078125e-7) + 2;
        if (x > -th) return x;
        if (x < th) return Math.exp(x);
        return Math.log1p(Math.exp(x));
      }
      case 8:
        return Math.abs(x);
      case 9:
        return 1 / (1 + Math.exp(-x));
      case 10:
        return x > 0 ? x : 0;
      case 11:
        return 1 / x;
      case 12:
        return Math.log1p(x);
      case 13:
        return Math.expm1(x);
      case 14:
        return Math.sign(x);
      case 15:
        return Math.floor(x);
      case 16:
        return Math.ceil(x);
      case 17: {
        const r = Math.round(x);
        return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
      }
      case 18:
        return erf(x);
      case 19:
        return Math.sin(x);
      case 20:
        return Math.cos(x);
      case 21:
        return x;
      case 22:
        return Math.trunc(x);
      case 23:
        return x !== 0 ? 1 : 0;
      case 24:
        return Number.isNaN(x) ? x : x > 0 ? 1 : p0;
      case 25:
        return x >= 0 ? x : Math.exp(x) - 1;
      case 26:
        return Math.min(Math.max(x, 0), 6);
      case 27:
        return x !== 0 ? 0 : 1;
      case 28:
        return Number.isNaN(x) ? 1 : 0;
      case 29:
        return x === Infinity || x === -Infinity ? 1 : 0;
      case 30:
        return Number.isFinite(x) ? 1 : 0;
      case 31:
        return Number.isNaN(x) ? x : Math.min(Math.max(x, p0), p1);
      case 32:
        return x < 0 ? p0 * x : x;
      case 33:
        return x >= 0 ? 1.0507009873554805 * x : 1.7580993408473768 * (Math.exp(x) - 1);
      case 34:
        return 0.5 * x * (1 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    }
    throw new Error(`emulator: unary op ${op}`);
  };
  const binary = (op: number, a: number, b: number): number => {
    switch (op) {
      case 0:
        return a + b;
      case 1:
        return a - b;
      case 2:
        return a * b;
      case 3:
        return a / b;
      case 4:
        return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
      case 5:
        return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b);
      case 6:
        return Math.pow(a, b);
      case 7:
        return (a - b) * (a - b);
      case 8:
        return a === b ? 1 : 0;
      case 9:
        return a !== b ? 1 : 0;
      case 10:
        return a < b ? 1 : 0;
      case 11:
        return a <= b ? 1 : 0;
      case 12:
        return a > b ? 1 : 0;
      case 13:
        return a >= b ? 1 : 0;
      case 14:
        return a !== 0 && b !== 0 ? 1 : 0;
      case 15:
        return a !== 0 || b !== 0 ? 1 : 0;
      case 16:
        return Math.floor(a / b);
      case 17:
        return Math.atan2(a, b);
      case 18: {
        const r = a % b;
        return (r < 0 && b > 0) || (r > 0 && b < 0) ? r + b : r;
      }
      case 19:
        return b === 0 ? 0 : a / b;
      case 20:
        return a < 0 ? a * b : a;
    }
    throw new Error(`emulator: binary op ${op}`);
  };

  const addon: CudaAddon & { heapFloats(): number } = {
    heapFloats: () => heap.length,
    init: () => "emulated CUDA device (JavaScript, for tests)",
    setMath: (m) => void (math = m),
    alloc(bytes) {
      const size = round(bytes);
      const list = free.get(size);
      let p = list?.pop();
      if (p === undefined) {
        p = top;
        top += size;
        const need = at(top);
        if (need > heap.length) {
          const h = new Float32Array(Math.max(need, heap.length * 2));
          h.set(heap);
          heap = h;
        }
        reserved += size;
        mallocs++;
      }
      live.set(p, size);
      inUse += size;
      peak = Math.max(peak, inUse);
      heap.fill(NaN, at(p), at(p + size)); // uninitialised memory reads as NaN
      return p;
    },
    free(p) {
      const size = live.get(p);
      if (size === undefined) throw new Error("free of an unknown device pointer");
      live.delete(p);
      inUse -= size;
      free.set(size, [...(free.get(size) ?? []), p]);
    },
    memStats(reset) {
      if (reset) peak = inUse;
      return [inUse, reserved, peak, mallocs];
    },
    upload: (p, data) => heap.set(data, at(p)),
    download: (p, out) => out.set(heap.subarray(at(p), at(p) + out.length)),
    sync: () => {},
    copy: (dst, src, n) => heap.copyWithin(at(dst), at(src), at(src) + n),
    fill: (y, n, v) => void heap.fill(v, at(y), at(y) + n),
    unary(op, x, y, n, p0 = 0, p1 = 0) {
      const i0 = at(x);
      const o0 = at(y);
      for (let i = 0; i < n; i++) heap[o0 + i] = unary(op, heap[i0 + i] as number, p0, p1);
    },
    binary(op, a, b, y, n, sa, sb) {
      const ia = a ? at(a) : -1;
      const ib = b ? at(b) : -1;
      const o = at(y);
      const va = f32(sa);
      const vb = f32(sb);
      for (let i = 0; i < n; i++)
        heap[o + i] = binary(
          op,
          ia >= 0 ? (heap[ia + i] as number) : va,
          ib >= 0 ? (heap[ib + i] as number) : vb,
        );
    },
    binaryBcast(op, a, b, y, info) {
      const r = info.length / 3;
      const shape = Array.from(info.subarray(0, r));
      const n = shape.reduce((p, q) => p * q, 1);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        let rem = i;
        let ia = 0;
        let ib = 0;
        for (let d = r - 1; d >= 0; d--) {
          const c = rem % (shape[d] as number);
          rem = Math.floor(rem / (shape[d] as number));
          ia += c * (info[r + d] as number);
          ib += c * (info[2 * r + d] as number);
        }
        out[i] = binary(op, heap[at(a) + ia] as number, heap[at(b) + ib] as number);
      }
      heap.set(out, at(y));
    },
    select(c, a, b, y, n) {
      for (let i = 0; i < n; i++)
        heap[at(y) + i] =
          (heap[at(c) + i] as number) !== 0 ? (heap[at(a) + i] as number) : (heap[at(b) + i] as number);
    },
    stridedCopy(x, xOff, y, yOff, info) {
      const r = info.length / 3;
      const shape = Array.from(info.subarray(0, r));
      const n = shape.reduce((p, q) => p * q, 1);
      const vals = new Float32Array(n);
      const idx = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        let rem = i;
        let ix = 0;
        let iy = 0;
        for (let d = r - 1; d >= 0; d--) {
          const c = rem % (shape[d] as number);
          rem = Math.floor(rem / (shape[d] as number));
          ix += c * (info[r + d] as number);
          iy += c * (info[2 * r + d] as number);
        }
        vals[i] = heap[at(x) + xOff + ix] as number;
        idx[i] = at(y) + yOff + iy;
      }
      for (let i = 0; i < n; i++) heap[idx[i] as number] = vals[i] as number;
    },
    gather(x, idx, y, outer, nIdx, dim, inner) {
      for (let o = 0; o < outer; o++)
        for (let j = 0; j < nIdx; j++) {
          const r = heap[at(idx) + j] as number;
          for (let k = 0; k < inner; k++)
            heap[at(y) + (o * nIdx + j) * inner + k] =
              r >= 0 && r < dim ? (heap[at(x) + (o * dim + r) * inner + k] as number) : 0;
        }
    },
    segmentSum(x, ids, y, n, numSeg, inner) {
      heap.fill(0, at(y), at(y) + numSeg * inner);
      for (let i = 0; i < n; i++) {
        const s = heap[at(ids) + i] as number;
        if (s < 0 || s >= numSeg) continue;
        for (let k = 0; k < inner; k++)
          heap[at(y) + s * inner + k] = f32(
            (heap[at(y) + s * inner + k] as number) + (heap[at(x) + i * inner + k] as number),
          );
      }
    },
    oneHot(idx, y, n, depth, on, off) {
      for (let i = 0; i < n; i++)
        for (let c = 0; c < depth; c++)
          heap[at(y) + i * depth + c] = (heap[at(idx) + i] as number) === c ? on : off;
    },
    reduce(op, x, y, outer, mid, inner) {
      const out = new Float32Array(outer * inner);
      for (let o = 0; o < outer; o++)
        for (let i = 0; i < inner; i++) {
          let acc = op === 1 ? -Infinity : op === 2 ? Infinity : op === 4 || op === 6 ? 1 : 0;
          let best = 0;
          for (let m = 0; m < mid; m++) {
            const v = heap[at(x) + (o * mid + m) * inner + i] as number;
            if (op === 7 || op === 8) {
              if (m === 0 || (op === 7 ? v > acc : v < acc)) {
                acc = v;
                best = m;
              }
              continue;
            }
            if (op === 0 || op === 3) acc += v;
            else if (op === 1) acc = Number.isNaN(v) || Number.isNaN(acc) ? NaN : Math.max(acc, v);
            else if (op === 2) acc = Number.isNaN(v) || Number.isNaN(acc) ? NaN : Math.min(acc, v);
            else if (op === 4) acc *= v;
            else if (op === 5) acc = acc !== 0 || v !== 0 ? 1 : 0;
            else if (op === 6) acc = acc !== 0 && v !== 0 ? 1 : 0;
          }
          out[o * inner + i] = op === 7 || op === 8 ? best : op === 3 ? acc / mid : acc;
        }
      heap.set(out, at(y));
    },
    softmax(x, y, rows, cols, log) {
      for (let r = 0; r < rows; r++) {
        const row = heap.subarray(at(x) + r * cols, at(x) + (r + 1) * cols);
        let m = -Infinity;
        for (const v of row) m = Math.max(m, v);
        let s = 0;
        for (const v of row) s += Math.exp(v - m);
        const o = Float32Array.from(row, (v) => (log ? v - m - Math.log(s) : Math.exp(v - m) / s));
        heap.set(o, at(y) + r * cols);
      }
    },
    matmul(a, b, c, batch, M, N, K, tA, tB, sA, sB, alpha = 1, beta = 0) {
      const rnd = math === 1 ? tf32 : math === 2 ? bf16 : (v: number) => v;
      for (let q = 0; q < batch; q++) {
        const A = at(a) + q * sA;
        const B = at(b) + q * sB;
        const C = at(c) + q * M * N;
        const out = new Float32Array(M * N);
        for (let i = 0; i < M; i++)
          for (let j = 0; j < N; j++) {
            let s = 0;
            for (let k = 0; k < K; k++) {
              const av = heap[A + (tA ? k * M + i : i * K + k)] as number;
              const bv = heap[B + (tB ? j * K + k : k * N + j)] as number;
              s += rnd(av) * rnd(bv);
            }
            out[i * N + j] = alpha * s + (beta ? beta * (heap[C + i * N + j] as number) : 0);
          }
        heap.set(out, C);
      }
    },
    adamw(table, lr, b1, b2, eps, wd, bc1, bc2, scalePtr) {
      const gs = scalePtr ? (heap[at(scalePtr)] as number) : 1;
      for (let e = 0; e < table.length / 5; e++) {
        const [p, g, m, v, code] = Array.from(table.subarray(5 * e, 5 * e + 5)) as [
          number,
          number,
          number,
          number,
          number,
        ];
        const n = Math.floor(code / 2);
        const decay = code % 2;
        for (let i = 0; i < n; i++) {
          const gi = (heap[at(g) + i] as number) * gs;
          const mi = f32(b1 * (heap[at(m) + i] as number) + (1 - b1) * gi);
          const vi = f32(b2 * (heap[at(v) + i] as number) + (1 - b2) * gi * gi);
          heap[at(m) + i] = mi;
          heap[at(v) + i] = vi;
          const pi = heap[at(p) + i] as number;
          let u = mi / bc1 / (Math.sqrt(vi / bc2) + eps);
          if (decay) u += wd * pi;
          heap[at(p) + i] = pi - lr * u;
        }
      }
    },
    layerNorm(x, g, b, y, mean, rstd, rows, C, eps) {
      for (let r = 0; r < rows; r++) {
        const row = heap.subarray(at(x) + r * C, at(x) + (r + 1) * C);
        let mu = 0;
        for (const v of row) mu += v;
        mu /= C;
        let va = 0;
        for (const v of row) va += (v - mu) ** 2;
        const rs = 1 / Math.sqrt(va / C + eps);
        const o = Float32Array.from(
          row,
          (v, c) => (v - mu) * rs * (heap[at(g) + c] as number) + (heap[at(b) + c] as number),
        );
        heap.set(o, at(y) + r * C);
        heap[at(mean) + r] = mu;
        heap[at(rstd) + r] = rs;
      }
    },
    layerNormBwd(dy, x, g, mean, rstd, dx, dg, db, rows, C) {
      const dG = new Float64Array(C);
      const dB = new Float64Array(C);
      for (let r = 0; r < rows; r++) {
        const mu = heap[at(mean) + r] as number;
        const rs = heap[at(rstd) + r] as number;
        let s1 = 0;
        let s2 = 0;
        for (let c = 0; c < C; c++) {
          const xh = ((heap[at(x) + r * C + c] as number) - mu) * rs;
          const d = heap[at(dy) + r * C + c] as number;
          const dyg = d * (heap[at(g) + c] as number);
          s1 += dyg;
          s2 += dyg * xh;
          dG[c] = (dG[c] as number) + d * xh;
          dB[c] = (dB[c] as number) + d;
        }
        s1 /= C;
        s2 /= C;
        for (let c = 0; c < C; c++) {
          const xh = ((heap[at(x) + r * C + c] as number) - mu) * rs;
          heap[at(dx) + r * C + c] =
            rs * ((heap[at(dy) + r * C + c] as number) * (heap[at(g) + c] as number) - s1 - xh * s2);
        }
      }
      heap.set(Float32Array.from(dG), at(dg));
      heap.set(Float32Array.from(dB), at(db));
    },
    geluBwd(dy, x, dx, n) {
      const k = 0.7978845608028654;
      for (let i = 0; i < n; i++) {
        const v = heap[at(x) + i] as number;
        const t = Math.tanh(k * (v + 0.044715 * v * v * v));
        const d = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * 0.044715 * v * v);
        heap[at(dx) + i] = (heap[at(dy) + i] as number) * d;
      }
    },
    tokenLogp(logits, targets, logp, lse, rows, V) {
      for (let r = 0; r < rows; r++) {
        const row = heap.subarray(at(logits) + r * V, at(logits) + (r + 1) * V);
        let m = -Infinity;
        for (const v of row) m = Math.max(m, v);
        let s = 0;
        for (const v of row) s += Math.exp(v - m);
        const L = m + Math.log(s);
        const t = heap[at(targets) + r] as number;
        heap[at(lse) + r] = L;
        heap[at(logp) + r] = t >= 0 && t < V ? (row[t] as number) - L : 0;
      }
    },
    tokenLogpBwd(logits, targets, lse, dlogp, dl, rows, V) {
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < V; c++) {
          const p = Math.exp((heap[at(logits) + r * V + c] as number) - (heap[at(lse) + r] as number));
          heap[at(dl) + r * V + c] =
            (heap[at(dlogp) + r] as number) * (((heap[at(targets) + r] as number) === c ? 1 : 0) - p);
        }
    },
    clipGrads(table, norm, factor, maxNorm, scaleBy) {
      let ss = 0;
      for (let e = 0; e < table.length / 3; e++) {
        const src = at(table[3 * e] as number);
        for (let i = 0; i < (table[3 * e + 2] as number); i++) ss += (heap[src + i] as number) ** 2;
      }
      const nrm = Math.sqrt(ss) * scaleBy;
      const f = (maxNorm > 0 ? Math.min(1, maxNorm / (nrm + 1e-6)) : 1) * scaleBy;
      heap[at(norm)] = nrm;
      heap[at(factor)] = f;
      const ff = heap[at(factor)] as number;
      for (let e = 0; e < table.length / 3; e++) {
        const src = at(table[3 * e] as number);
        const dst = at(table[3 * e + 1] as number);
        for (let i = 0; i < (table[3 * e + 2] as number); i++) heap[dst + i] = (heap[src + i] as number) * ff;
      }
    },
    causalSoftmax(x, y, rows, T, S, scale) {
      for (let r = 0; r < rows; r++) {
        const limit = S - T + (r % T);
        const row = heap.subarray(at(x) + r * S, at(x) + (r + 1) * S);
        let m = -Infinity;
        for (let c = 0; c <= limit; c++) m = Math.max(m, f32((row[c] as number) * scale));
        let s = 0;
        for (let c = 0; c <= limit; c++) s += Math.exp(f32((row[c] as number) * scale) - m);
        const o = Float32Array.from(row, (v, c) => (c <= limit ? Math.exp(f32(v * scale) - m) / s : 0));
        heap.set(o, at(y) + r * S);
      }
    },
    softmaxBwd(dy, y, dx, rows, S, scale) {
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let c = 0; c < S; c++)
          s += (heap[at(dy) + r * S + c] as number) * (heap[at(y) + r * S + c] as number);
        for (let c = 0; c < S; c++) {
          const yv = heap[at(y) + r * S + c] as number;
          heap[at(dx) + r * S + c] = scale * yv * ((heap[at(dy) + r * S + c] as number) - s);
        }
      }
    },
  };
  Object.assign(
    addon,
    emulatedDecode(() => heap, at),
  );
  return addon;
}

/** erf (Abramowitz-Stegun 7.1.26 is too coarse for a 2e-6 check): series / continued fraction. */
function erf(x: number): number {
  const t = Math.abs(x);
  if (t < 2.5) {
    let sum = t;
    let term = t;
    for (let n = 1; n < 60; n++) {
      term *= (-t * t) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * ((2 / Math.sqrt(Math.PI)) * sum);
  }
  // erfc continued fraction
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (t + f);
  const erfc = Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f);
  return Math.sign(x) * (1 - erfc);
}
