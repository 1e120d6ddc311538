// The emulated addon's generation engine (decodeNew / decodeStep / decodeFree): the same forward
// pass and KV-cache bookkeeping as trainer/cuda/pairwise_decode.cuh, in plain JavaScript over the
// emulator's heap, so the TypeScript side of GPU generation (trainer/cuda/decode.ts, the batched loop
// in trainer/generate.ts) runs in CI. Slow; for tests only.
import type { CudaAddon } from "./addon";

interface Engine {
  L: number;
  C: number;
  nh: number;
  V: number;
  B: number;
  maxT: number;
  eps: number;
  banned: number;
  ptr: number[];
  k: Float32Array[];
  v: Float32Array[];
}

type DecodeFns = Required<Pick<CudaAddon, "decodeNew" | "decodeStep" | "decodeFree">>;

export function emulatedDecode(heapOf: () => Float32Array, at: (p: number) => number): DecodeFns {
  const engines: (Engine | null)[] = [];
  const view = (p: number, n: number) => heapOf().subarray(at(p), at(p) + n);

  /** x (rows x C) -> LayerNorm(x) */
  const layerNorm = (
    x: Float32Array,
    rows: number,
    C: number,
    g: Float32Array,
    b: Float32Array,
    eps: number,
  ) => {
    const y = new Float32Array(rows * C);
    for (let r = 0; r < rows; r++) {
      let mu = 0;
      for (let c = 0; c < C; c++) mu += x[r * C + c] as number;
      mu /= C;
      let va = 0;
      for (let c = 0; c < C; c++) va += ((x[r * C + c] as number) - mu) ** 2;
      const rs = 1 / Math.sqrt(va / C + eps);
      for (let c = 0; c < C; c++)
        y[r * C + c] = ((x[r * C + c] as number) - mu) * rs * (g[c] as number) + (b[c] as number);
    }
    return y;
  };
  /** a (M x K) @ w (K x N) [+ bias] */
  const linear = (a: Float32Array, M: number, K: number, w: Float32Array, N: number, bias?: Float32Array) => {
    const y = new Float32Array(M * N);
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += (a[i * K + k] as number) * (w[k * N + j] as number);
        y[i * N + j] = s + (bias ? (bias[j] as number) : 0);
      }
    return y;
  };

  return {
    decodeNew(table, L, C, nh, V, B, maxT, eps, banned) {
      if (table.length !== 4 + 12 * L || C % nh !== 0) throw new Error("decodeNew: bad arguments");
      const n = B * maxT * C;
      engines.push({
        L,
        C,
        nh,
        V,
        B,
        maxT,
        eps,
        banned,
        ptr: Array.from(table),
        k: Array.from({ length: L }, () => new Float32Array(n)),
        v: Array.from({ length: L }, () => new Float32Array(n)),
      });
      return engines.length - 1;
    },
    decodeStep(h, ids, T, pos0, argmaxOut, logitsOut) {
      const e = engines[h];
      if (!e || ids.length !== e.B * T || argmaxOut.length !== e.B)
        throw new Error("decodeStep: bad arguments");
      if (pos0 + T > e.maxT) throw new Error("decodeStep: past the cache's length");
      const { C, nh, V, B, maxT, L } = e;
      const hs = C / nh;
      const rows = B * T;
      const P = (i: number, n: number) => view(e.ptr[i] as number, n);
      const wte = P(0, V * C);
      const wpe = P(1, (pos0 + T) * C);
      let x = new Float32Array(rows * C);
      for (let r = 0; r < rows; r++) {
        const id = ids[r] as number;
        const pos = pos0 + (r % T);
        for (let c = 0; c < C; c++) x[r * C + c] = (wte[id * C + c] as number) + (wpe[pos * C + c] as number);
      }
      for (let l = 0; l < L; l++) {
        const o = 4 + 12 * l;
        const a = layerNorm(x, rows, C, P(o, C), P(o + 1, C), e.eps);
        const qkv = linear(a, rows, C, P(o + 2, C * 3 * C), 3 * C, P(o + 3, 3 * C));
        const kc = e.k[l] as Float32Array;
        const vc = e.v[l] as Float32Array;
        // cache layout (B, nh, maxT, hs), as on the device
        for (let b = 0; b < B; b++)
          for (let t = 0; t < T; t++)
            for (let hh = 0; hh < nh; hh++)
              for (let d = 0; d < hs; d++) {
                const src = (b * T + t) * 3 * C + hh * hs + d;
                const dst = ((b * nh + hh) * maxT + pos0 + t) * hs + d;
                kc[dst] = qkv[src + C] as number;
                vc[dst] = qkv[src + 2 * C] as number;
              }
        const y = new Float32Array(rows * C);
        const scale = 1 / Math.sqrt(hs);
        for (let b = 0; b < B; b++)
          for (let t = 0; t < T; t++)
            for (let hh = 0; hh < nh; hh++) {
              const S = pos0 + t + 1;
              const base = (b * nh + hh) * maxT * hs;
              const q = (b * T + t) * 3 * C + hh * hs;
              const sc = new Float64Array(S);
              let m = -Infinity;
              for (let s = 0; s < S; s++) {
                let acc = 0;
                for (let d = 0; d < hs; d++)
                  acc += (qkv[q + d] as number) * (kc[base + s * hs + d] as number);
                sc[s] = acc * scale;
                m = Math.max(m, sc[s] as number);
              }
              let z = 0;
              for (let s = 0; s < S; s++) z += sc[s] = Math.exp((sc[s] as number) - m);
              for (let d = 0; d < hs; d++) {
                let acc = 0;
                for (let s = 0; s < S; s++) acc += (sc[s] as number) * (vc[base + s * hs + d] as number);
                y[(b * T + t) * C + hh * hs + d] = acc / z;
              }
            }
        const att = linear(y, rows, C, P(o + 4, C * C), C, P(o + 5, C));
        for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) + (att[i] as number);
        const m2 = layerNorm(x, rows, C, P(o + 6, C), P(o + 7, C), e.eps);
        const f = linear(m2, rows, C, P(o + 8, C * 4 * C), 4 * C, P(o + 9, 4 * C));
        for (let i = 0; i < f.length; i++) {
          const v = f[i] as number;
          f[i] = 0.5 * v * (1 + Math.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
        }
        const mo = linear(f, rows, 4 * C, P(o + 10, 4 * C * C), C, P(o + 11, C));
        for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) + (mo[i] as number);
      }
      const last = new Float32Array(B * C);
      for (let b = 0; b < B; b++) last.set(x.subarray((b * T + T - 1) * C, (b * T + T) * C), b * C);
      x = layerNorm(last, B, C, P(2, C), P(3, C), e.eps);
      const logits = new Float32Array(B * V);
      for (let b = 0; b < B; b++)
        for (let j = 0; j < V; j++) {
          let s = 0;
          for (let c = 0; c < C; c++) s += (x[b * C + c] as number) * (wte[j * C + c] as number);
          logits[b * V + j] = s;
        }
      for (let b = 0; b < B; b++) {
        let best = -1;
        let bv = -Infinity;
        for (let j = 0; j < V; j++)
          if (j !== e.banned && (logits[b * V + j] as number) > bv) {
            bv = logits[b * V + j] as number;
            best = j;
          }
        argmaxOut[b] = Math.max(0, best);
      }
      if (logitsOut) logitsOut.set(logits);
      return 0;
    },
    decodeFree(h) {
      engines[h] = null;
    },
  };
}
