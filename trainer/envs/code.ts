// Code: write a small JavaScript function; the checker runs it against unit tests in a sandbox.
//
// The sandbox is quickjs-emscripten: the QuickJS engine compiled to WebAssembly, run inside this
// process. Why it: it is maintained (releases through 2025), needs no native build or extra
// service, and the guest has no host bindings at all unless we add them, so there is no file,
// network or process access by construction (no std/os modules are loaded); the runtime enforces
// a memory limit and a stack limit, and an interrupt handler stops code past a deadline (infinite
// loops included). node:vm is not a security boundary (Node's docs say so); isolated-vm needs a
// native build; Pyodide is ~10 MB of Python for a JS task.
//
// Difficulty: 1 = arithmetic on numbers, 2 = loops over arrays, 3 = strings.
import { mixSeed, Rng } from "../rng";
import type { ChatMessage } from "../tokenizer";
import type { CheckResult } from "../rewards";
import { type Environment, clampDifficulty, drawSplit } from "./types";

export interface CodeTest {
  args: unknown[];
  expected: unknown;
}
export interface CodeProblem {
  family: string;
  k: number;
  difficulty: number;
  tests: CodeTest[];
}

interface Family {
  id: string;
  difficulty: number;
  params: string;
  task: (k: number) => string;
  source: (k: number) => string;
  think: string;
  impl: (k: number) => (...a: never[]) => unknown;
  args: (rng: Rng) => unknown[];
}

const ints = (rng: Rng, n: number, lo = -9, hi = 20) => Array.from({ length: n }, () => rng.range(lo, hi));
const WORDS = ["apple", "banana", "kiwi", "sky", "ocean", "tree", "moon", "river", "stone", "idea"];

export const FAMILIES: readonly Family[] = [
  {
    id: "add",
    difficulty: 1,
    params: "n",
    task: (k) => `returns n plus ${k}`,
    source: (k) => `function solve(n) { return n + ${k}; }`,
    think: "Add the constant.",
    impl: (k) => (n: number) => n + k,
    args: (rng) => [rng.range(-50, 50)],
  },
  {
    id: "times",
    difficulty: 1,
    params: "n",
    task: (k) => `returns n times ${k}`,
    source: (k) => `function solve(n) { return n * ${k}; }`,
    think: "Multiply by the constant.",
    impl: (k) => (n: number) => n * k,
    args: (rng) => [rng.range(-20, 20)],
  },
  {
    id: "max2",
    difficulty: 1,
    params: "a, b",
    task: () => "returns the larger of a and b",
    source: () => "function solve(a, b) { return a > b ? a : b; }",
    think: "Compare the two.",
    impl: () => (a: number, b: number) => (a > b ? a : b),
    args: (rng) => [rng.range(-30, 30), rng.range(-30, 30)],
  },
  {
    id: "sum",
    difficulty: 2,
    params: "xs",
    task: () => "returns the sum of the numbers in the array xs",
    source: () => "function solve(xs) { let s = 0; for (const x of xs) s += x; return s; }",
    think: "Loop and add.",
    impl: () => (xs: number[]) => xs.reduce((a, b) => a + b, 0),
    args: (rng) => [ints(rng, rng.range(0, 6))],
  },
  {
    id: "countGreater",
    difficulty: 2,
    params: "xs",
    task: (k) => `returns how many numbers in the array xs are greater than ${k}`,
    source: (k) => `function solve(xs) { let c = 0; for (const x of xs) if (x > ${k}) c++; return c; }`,
    think: "Loop and count.",
    impl: (k) => (xs: number[]) => xs.filter((x) => x > k).length,
    args: (rng) => [ints(rng, rng.range(0, 7))],
  },
  {
    id: "maxArr",
    difficulty: 2,
    params: "xs",
    task: () => "returns the largest number in the non-empty array xs",
    source: () => "function solve(xs) { let m = xs[0]; for (const x of xs) if (x > m) m = x; return m; }",
    think: "Keep the largest so far.",
    impl: () => (xs: number[]) => Math.max(...xs),
    args: (rng) => [ints(rng, rng.range(1, 6))],
  },
  {
    id: "reverse",
    difficulty: 3,
    params: "s",
    task: () => "returns the string s reversed",
    source: () => "function solve(s) { return s.split('').reverse().join(''); }",
    think: "Split, reverse, join.",
    impl: () => (s: string) => [...s].reverse().join(""),
    args: (rng) => [rng.pick(WORDS)],
  },
  {
    id: "vowels",
    difficulty: 3,
    params: "s",
    task: () => "returns the number of vowels (a, e, i, o, u) in the string s",
    source: () =>
      "function solve(s) { let c = 0; for (const ch of s) if ('aeiou'.includes(ch)) c++; return c; }",
    think: "Loop and count vowels.",
    impl: () => (s: string) => [...s].filter((c) => "aeiou".includes(c)).length,
    args: (rng) => [rng.pick(WORDS) + rng.pick(WORDS)],
  },
];
const family = (id: string) => FAMILIES.find((f) => f.id === id);

/** The code of a completion: the first ```js block after </think>, else everything after </think>. */
export function extractCode(completion: string): string {
  const end = completion.lastIndexOf("</think>");
  const tail = end >= 0 ? completion.slice(end + 8) : completion;
  const m = /```(?:js|javascript)?\s*\n?([\s\S]*?)```/.exec(tail);
  return (m ? (m[1] as string) : tail).trim();
}

export interface SandboxLimits {
  /** Wall-clock budget for the whole test run (default 500 ms). */
  timeoutMs?: number;
  /** Heap limit of the QuickJS runtime (default 16 MiB). */
  memoryBytes?: number;
  /** Stack limit (default 256 KiB). */
  stackBytes?: number;
}

type QuickJs = Awaited<ReturnType<(typeof import("quickjs-emscripten"))["getQuickJS"]>>;
let quickjs: Promise<{
  qjs: QuickJs;
  deadline: (typeof import("quickjs-emscripten"))["shouldInterruptAfterDeadline"];
}> | null = null;
function loadQuickJs() {
  // loaded on first use: the WASM module stays out of processes that never check code
  quickjs ??= import("quickjs-emscripten").then(async (m) => ({
    qjs: await m.getQuickJS(),
    deadline: m.shouldInterruptAfterDeadline,
  }));
  return quickjs;
}

/**
 * Runs `code` (which must define `solve`) against the tests in a fresh QuickJS runtime with the
 * limits; returns per-test pass/fail and the first error.
 */
export async function runTests(
  code: string,
  tests: readonly CodeTest[],
  limits: SandboxLimits = {},
): Promise<{ passed: boolean[]; error: string | null }> {
  const { qjs, deadline } = await loadQuickJs();
  const rt = qjs.newRuntime();
  rt.setMemoryLimit(limits.memoryBytes ?? 16 * 1024 * 1024);
  rt.setMaxStackSize(limits.stackBytes ?? 256 * 1024);
  rt.setInterruptHandler(deadline(Date.now() + (limits.timeoutMs ?? 500)));
  const vm = rt.newContext();
  try {
    const harness = `
${code}
;(function () {
  const tests = ${JSON.stringify(tests.map((t) => t.args))};
  const out = [];
  for (const args of tests) {
    try { out.push(JSON.stringify(solve(...args))); } catch (e) { out.push(null); }
  }
  return JSON.stringify(out);
})()`;
    const r = vm.evalCode(harness, "solution.js");
    if (r.error) {
      const e = vm.dump(r.error) as { name?: string; message?: string } | string;
      r.error.dispose();
      const msg = typeof e === "string" ? e : `${e?.name ?? "Error"}: ${e?.message ?? ""}`;
      return { passed: tests.map(() => false), error: msg };
    }
    const got = JSON.parse(String(vm.dump(r.value))) as (string | null)[];
    r.value.dispose();
    return { passed: tests.map((t, i) => got[i] === JSON.stringify(t.expected)), error: null };
  } finally {
    vm.dispose();
    rt.dispose();
  }
}

export const codeEnv: Environment<CodeProblem> = {
  name: "code",
  title: "Code (JavaScript, unit tests in a QuickJS sandbox)",
  description:
    "Write function solve(...) in a ```js block after <think>…</think>; scored by the share of unit tests passed in a WASM QuickJS sandbox (500 ms, 16 MiB, no I/O). Difficulty: 1 numbers, 2 arrays, 3 strings.",
  maxDifficulty: 3,
  defaultDifficulty: 1,
  problems(o) {
    const difficulty = clampDifficulty(this, o.difficulty);
    const fams = FAMILIES.filter((f) => f.difficulty === difficulty);
    return drawSplit(
      { ...o, difficulty },
      (p) => `${p.family}:${p.k}`,
      (rng) => {
        const f = rng.pick(fams);
        const k = rng.range(1, 12);
        const impl = f.impl(k) as (...a: unknown[]) => unknown;
        const trng = new Rng(mixSeed(k, f.id.length, f.id.charCodeAt(0)));
        const tests = Array.from({ length: 5 }, () => {
          const args = f.args(trng);
          return { args, expected: impl(...args) };
        });
        return { family: f.id, k, difficulty, tests };
      },
      20,
    );
  },
  key: (p) => `${p.family}:${p.k}`,
  prompt(p): ChatMessage[] {
    const f = family(p.family);
    if (!f) throw new Error(`code: unknown family ${p.family}`);
    return [
      {
        role: "user",
        content: `Write a JavaScript function solve(${f.params}) that ${f.task(p.k)}.`,
      },
    ];
  },
  target(p) {
    const f = family(p.family);
    if (!f) throw new Error(`code: unknown family ${p.family}`);
    return `<think>${f.think}</think>\`\`\`js\n${f.source(p.k)}\n\`\`\``;
  },
  async check(p, completion): Promise<CheckResult> {
    const formatOk =
      /^\s*<think>(?:(?!<\/?think>)[\s\S])+<\/think>\s*```(?:js|javascript)?\s*\n[\s\S]*```\s*$/.test(
        completion,
      );
    const code = extractCode(completion);
    if (!/function\s+solve\b|solve\s*=/.test(code))
      return { score: 0, correct: false, formatOk, detail: "no solve function" };
    const r = await runTests(code, p.tests);
    const n = r.passed.filter(Boolean).length;
    return {
      score: n / p.tests.length,
      correct: n === p.tests.length,
      formatOk,
      detail: r.error ?? `${n}/${p.tests.length} tests passed`,
    };
  },
  parse(json) {
    const o = (json ?? {}) as Partial<CodeProblem>;
    if (
      typeof o.family !== "string" ||
      !family(o.family) ||
      typeof o.k !== "number" ||
      !Array.isArray(o.tests)
    )
      return null;
    return { family: o.family, k: o.k, difficulty: Number(o.difficulty ?? 1), tests: o.tests };
  },
};
