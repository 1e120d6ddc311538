// Seeded pseudo-random numbers for everything the trainer draws: weight initialisation, data
// order, eval split, sampling. One small generator (sfc32, seeded through splitmix32) whose whole
// state is four uint32, so it can be saved in a checkpoint and restored exactly.

/** splitmix32: turns any integer seed into a well-mixed uint32 stream (used only for seeding). */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Mixes several integers (e.g. a run seed and an epoch number) into one 32-bit seed. */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    const g = splitmix32((p ^ h) >>> 0);
    h = (Math.imul(h ^ g(), 0x01000193) ^ g()) >>> 0;
  }
  return h >>> 0;
}

/** Seeded generator (sfc32). `state()` / `Rng.fromState()` round-trip it exactly. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    const g = splitmix32(seed);
    this.a = g();
    this.b = g();
    this.c = g();
    this.d = g();
    for (let i = 0; i < 12; i++) this.nextUint32(); // warm up
  }

  static fromState(state: readonly number[]): Rng {
    if (state.length !== 4) throw new Error(`Rng.fromState: expected 4 numbers, got ${state.length}`);
    const r = new Rng(0);
    [r.a, r.b, r.c, r.d] = state.map((x) => x >>> 0) as [number, number, number, number];
    return r;
  }

  state(): [number, number, number, number] {
    return [this.a, this.b, this.c, this.d];
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [lo, hi] inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error("Rng.pick: empty array");
    return xs[this.int(xs.length)] as T;
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    if (this.spareNormal !== null) {
      const s = this.spareNormal;
      this.spareNormal = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** In-place Fisher-Yates shuffle; returns the array. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = xs[i] as T;
      xs[i] = xs[j] as T;
      xs[j] = t;
    }
    return xs;
  }
}

/** A permutation of 0..n-1 fixed by (seed, salt). */
export function permutation(n: number, seed: number, salt = 0): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  return new Rng(mixSeed(seed, salt)).shuffle(idx);
}
