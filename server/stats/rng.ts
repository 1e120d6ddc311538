/**
 * Deterministic pseudo-random numbers for reproducible resampling
 * (bootstrap intervals must not change between page loads).
 *
 * Mulberry32: a tiny 32-bit generator with good statistical quality for
 * simulation purposes. Not cryptographic. Note that it is not numpy's
 * generator, so bootstrap draws are not bit-identical to a Python run with
 * the same seed — only the procedure is the same.
 */

/** A function returning uniform floats in [0, 1). */
export type Rng = () => number;

/** Creates a seeded generator; the same seed always yields the same stream. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform integer in [0, n) drawn from `rng`. */
export function randomInt(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}
