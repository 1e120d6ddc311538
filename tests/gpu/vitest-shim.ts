// The part of vitest's API that the trainer's tests use, on node:test and node:assert, so the same
// test files run bundled on the GPU machine (which has Node.js but no node_modules). The bundle
// (tests/gpu/bundle.sh) aliases "vitest" to this file.
import assert from "node:assert/strict";
import { after, before, describe as nodeDescribe, it as nodeIt } from "node:test";
import { isDeepStrictEqual } from "node:util";

type Fn = () => unknown | Promise<unknown>;

export function describe(name: string, fn: () => void): void {
  void nodeDescribe(name, fn);
}
describe.skip = (name: string, fn: () => void) => void nodeDescribe(name, { skip: true }, fn);
describe.skipIf = (cond: boolean) => (cond ? describe.skip : describe);
describe.each = each(describe);

export function it(name: string, fn: Fn, timeout?: number): void {
  void nodeIt(name, { timeout: timeout ?? 600_000 }, async () => {
    await fn();
  });
}
it.skip = (name: string, fn: Fn) => void nodeIt(name, { skip: true }, async () => void (await fn()));
it.skipIf = (cond: boolean) => (cond ? it.skip : it);
it.each = each(it);
export const test = it;

/** vitest's .each: one case per row; "%s"-style and "$key" placeholders in the title. */
function each<F extends (name: string, fn: () => unknown) => void>(base: F) {
  return (table: readonly unknown[]) => (name: string, fn: (...args: never[]) => unknown) => {
    for (const row of table) {
      const args = Array.isArray(row) ? row : [row];
      let i = 0;
      const title = name
        .replace(/%[sdifjo]/g, () => String(args[i++]))
        .replace(/\$(\w+)/g, (_, k: string) => String((row as Record<string, unknown>)?.[k]));
      base(title, () => (fn as (...a: unknown[]) => unknown)(...args));
    }
  };
}

export const beforeAll = (fn: Fn) => before(async () => void (await fn()));
export const afterAll = (fn: Fn) => after(async () => void (await fn()));

function subset(actual: unknown, expected: unknown): boolean {
  if (expected && typeof expected === "object" && !Array.isArray(expected)) {
    if (!actual || typeof actual !== "object") return false;
    return Object.entries(expected).every(([k, v]) => subset((actual as Record<string, unknown>)[k], v));
  }
  return isDeepStrictEqual(actual, expected);
}

function matchError(err: unknown, expected?: RegExp | string): void {
  if (expected === undefined) return;
  const msg = err instanceof Error ? err.message : String(err);
  if (expected instanceof RegExp) assert.match(msg, expected);
  else assert.ok(msg.includes(expected), `"${msg}" does not include "${expected}"`);
}

function matchers(actual: unknown, negate: boolean) {
  const check = (ok: boolean, msg: string) => assert.ok(negate ? !ok : ok, (negate ? "not: " : "") + msg);
  const fmt = (v: unknown) => {
    try {
      return JSON.stringify(v)?.slice(0, 300);
    } catch {
      return String(v);
    }
  };
  return {
    toBe: (e: unknown) => check(Object.is(actual, e), `expected ${fmt(actual)} to be ${fmt(e)}`),
    toEqual: (e: unknown) =>
      check(
        isDeepStrictEqual(actual, e) || looseEqual(actual, e),
        `expected ${fmt(actual)} to equal ${fmt(e)}`,
      ),
    toStrictEqual: (e: unknown) =>
      check(isDeepStrictEqual(actual, e), `expected ${fmt(actual)} to strictly equal ${fmt(e)}`),
    toMatchObject: (e: unknown) => check(subset(actual, e), `expected ${fmt(actual)} to match ${fmt(e)}`),
    toBeLessThan: (e: number) => check((actual as number) < e, `expected ${actual} < ${e}`),
    toBeLessThanOrEqual: (e: number) => check((actual as number) <= e, `expected ${actual} <= ${e}`),
    toBeGreaterThan: (e: number) => check((actual as number) > e, `expected ${actual} > ${e}`),
    toBeGreaterThanOrEqual: (e: number) => check((actual as number) >= e, `expected ${actual} >= ${e}`),
    toBeCloseTo: (e: number, digits = 2) =>
      check(
        Math.abs((actual as number) - e) < 10 ** -digits / 2,
        `expected ${actual} to be close to ${e} (${digits} digits)`,
      ),
    toBeDefined: () => check(actual !== undefined, `expected a defined value`),
    toBeUndefined: () => check(actual === undefined, `expected undefined, got ${fmt(actual)}`),
    toBeNull: () => check(actual === null, `expected null, got ${fmt(actual)}`),
    toBeTruthy: () => check(Boolean(actual), `expected ${fmt(actual)} to be truthy`),
    toBeFalsy: () => check(!actual, `expected ${fmt(actual)} to be falsy`),
    toBeInstanceOf: (c: new (...a: never[]) => unknown) =>
      check(actual instanceof c, `expected an instance of ${c.name}`),
    toBeNaN: () => check(Number.isNaN(actual), `expected NaN, got ${fmt(actual)}`),
    toContain: (e: unknown) =>
      check(
        typeof actual === "string" ? actual.includes(e as string) : (actual as unknown[]).includes(e),
        `expected ${fmt(actual)} to contain ${fmt(e)}`,
      ),
    toHaveLength: (n: number) => check((actual as { length: number }).length === n, `expected length ${n}`),
    toMatch: (re: RegExp | string) =>
      check(
        typeof re === "string" ? (actual as string).includes(re) : re.test(actual as string),
        `expected ${fmt(actual)} to match ${re}`,
      ),
    toThrow: (expected?: RegExp | string) => {
      let threw = false;
      try {
        (actual as () => unknown)();
      } catch (err) {
        threw = true;
        if (!negate) matchError(err, expected);
      }
      check(threw, "expected the function to throw");
    },
  };
}

/** vitest's toEqual ignores undefined properties; this covers that for plain objects. */
function looseEqual(a: unknown, b: unknown): boolean {
  const strip = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(strip)
      : v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([, x]) => x !== undefined)
              .map(([k, x]) => [k, strip(x)]),
          )
        : v;
  return isDeepStrictEqual(strip(a), strip(b));
}

export function expect(actual: unknown) {
  return {
    ...matchers(actual, false),
    not: matchers(actual, true),
    rejects: {
      toThrow: async (expected?: RegExp | string) => {
        try {
          await (actual as Promise<unknown>);
        } catch (err) {
          matchError(err, expected);
          return;
        }
        assert.fail("expected the promise to reject");
      },
    },
    resolves: {
      toBeDefined: async () => assert.ok((await (actual as Promise<unknown>)) !== undefined),
    },
  };
}

export const vi = {};
