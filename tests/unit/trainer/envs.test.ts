// The environments: seeded, disjoint train / held-out splits, a difficulty knob, a checker that
// accepts the target and rejects wrong answers, the code sandbox's limits, the game against fixed
// strategies, and each environment as a rule judge (envJudgeScore on prompt metadata).
import { describe, expect, it } from "vitest";
import {
  codeEnv,
  envJudgeScore,
  ENVIRONMENTS,
  miniR1Env,
  sortingEnv,
  ticTacToeEnv,
  type Environment,
  type PolicyFn,
} from "../../../trainer/index";
import { runTests } from "../../../trainer/envs/code";
import { bestMoves, emptyCells, value } from "../../../trainer/envs/tictactoe";

describe.each(Object.values(ENVIRONMENTS))("$name", (env: Environment) => {
  it("draws seeded problems with disjoint train and held-out splits at every difficulty", async () => {
    for (let d = 1; d <= env.maxDifficulty; d++) {
      const train = env.problems({ split: "train", n: 40, seed: 1, difficulty: d });
      const test = env.problems({ split: "test", n: 10, seed: 1, difficulty: d });
      expect(train.length).toBeGreaterThan(0);
      expect(test.length).toBeGreaterThan(0);
      expect(env.problems({ split: "train", n: 40, seed: 1, difficulty: d })).toEqual(train);
      const keys = new Set(train.map((p) => env.key(p)));
      expect(keys.size).toBe(train.length);
      for (const p of test) expect(keys.has(env.key(p))).toBe(false);
      // a problem survives its metadata round trip
      expect(env.parse(JSON.parse(JSON.stringify(train[0])))).toEqual(train[0]);
    }
  });
  it("accepts its target completions and rejects a wrong answer", async () => {
    for (const p of env.problems({ split: "test", n: 8, seed: 2 })) {
      const ok = await env.check(p, env.target(p));
      expect(ok, env.target(p)).toMatchObject({ correct: true, formatOk: true, score: 1 });
      const bad = await env.check(p, "<think>no idea</think>The answer is -77, -77.");
      expect(bad.correct).toBe(false);
      expect((await env.check(p, "")).correct).toBe(false);
    }
  });
  it("is a rule judge: prompt metadata {task, problem} + completion -> reward", async () => {
    const p = env.problems({ split: "test", n: 1, seed: 4 })[0];
    const good = await envJudgeScore({ task: env.name, problem: p }, env.target(p));
    expect(good).toMatchObject({ env: env.name, correct: true, reward: 1 });
    const bad = await envJudgeScore({ task: env.name, problem: p }, "The answer is nothing.");
    expect(bad!.reward).toBeLessThan(0.5);
    expect(await envJudgeScore({ task: "nope", problem: p }, "x")).toBeNull();
  });
});

describe("difficulty knob", () => {
  it("mini-R1 steps and sorting lengths grow with difficulty", () => {
    expect(
      miniR1Env.problems({ split: "train", n: 3, difficulty: 3 }).every((p) => p.steps.length === 3),
    ).toBe(true);
    expect(sortingEnv.problems({ split: "train", n: 3, difficulty: 1 })[0]!.numbers).toHaveLength(3);
    expect(sortingEnv.problems({ split: "train", n: 3, difficulty: 3 })[0]!.numbers).toHaveLength(5);
    expect(
      codeEnv
        .problems({ split: "train", n: 5, difficulty: 3 })
        .every((p) => ["reverse", "vowels"].includes(p.family)),
    ).toBe(true);
  });
  it("mini-R1's environment checks as the gold reward does", async () => {
    const p = miniR1Env.problems({ split: "train", n: 1, seed: 9 })[0]!;
    expect(await miniR1Env.check(p, `<think>x</think>The answer is ${p.answer}.`)).toMatchObject({
      correct: true,
      formatOk: true,
    });
    expect(await miniR1Env.check(p, `The answer is ${p.answer}.`)).toMatchObject({
      correct: true,
      formatOk: false,
    });
  });
});

describe("code sandbox (quickjs-emscripten)", () => {
  const tests = [
    { args: [1, 2], expected: 3 },
    { args: [5, -1], expected: 4 },
  ];
  it("scores partial credit per unit test", async () => {
    expect((await runTests("function solve(a, b) { return a + b; }", tests)).passed).toEqual([true, true]);
    expect((await runTests("function solve(a, b) { return a === 1 ? 3 : 0; }", tests)).passed).toEqual([
      true,
      false,
    ]);
    const p = codeEnv.problems({ split: "train", n: 1, seed: 1, difficulty: 2 })[0]!;
    const half = await codeEnv.check(p, "<think>t</think>```js\nfunction solve(xs) { return 0; }\n```");
    expect(half.score).toBeGreaterThanOrEqual(0);
    expect(half.score).toBeLessThan(1);
  });
  it("stops an infinite loop at the time limit", async () => {
    const t0 = Date.now();
    const r = await runTests("function solve() { while (true) {} }", tests, { timeoutMs: 200 });
    expect(r.passed).toEqual([false, false]);
    expect(Date.now() - t0).toBeLessThan(3000);
  });
  it("stops a memory hog at the memory limit", async () => {
    const r = await runTests(
      "const a = []; while (true) a.push(new Array(1e5).fill(1)); function solve() { return 1; }",
      tests,
      { memoryBytes: 8 * 1024 * 1024, timeoutMs: 5000 },
    );
    expect(r.passed).toEqual([false, false]);
    expect(r.error ?? "").toMatch(/memory|InternalError|interrupted/i);
  });
  it("has no file, network or process access", async () => {
    for (const probe of [
      "require('fs')",
      "fetch('http://127.0.0.1')",
      "process.exit(1)",
      "std.loadFile('/etc/passwd')",
      "os.exec(['ls'])",
    ]) {
      const r = await runTests(`function solve() { return typeof (${probe}); }`, [
        { args: [], expected: "object" },
      ]);
      expect(r.passed, probe).toEqual([false]);
    }
    const r = await runTests(
      "function solve() { return [typeof require, typeof fetch, typeof process, typeof std, typeof os, typeof XMLHttpRequest].join(); }",
      [{ args: [], expected: "undefined,undefined,undefined,undefined,undefined,undefined" }],
    );
    expect(r.passed).toEqual([true]);
  });
});

describe("tic-tac-toe against fixed strategies", () => {
  const minimax: PolicyFn = async (prompt) => {
    const text = prompt[0]!.content;
    const rows = text.split("\n").slice(1, 4).join(" ").split(" ");
    const board = rows.map((c) => (c === "X" || c === "O" ? c : ".")).join("");
    return `<think>x</think>The answer is ${(bestMoves(board, "X")[0] as number) + 1}.`;
  };
  const randomish: PolicyFn = async (prompt) => {
    const rows = prompt[0]!.content.split("\n").slice(1, 4).join(" ").split(" ");
    const board = rows.map((c) => (c === "X" || c === "O" ? c : ".")).join("");
    return `<think>x</think>The answer is ${(emptyCells(board).at(-1) as number) + 1}.`;
  };
  it("the empty board is a draw with perfect play", () => {
    expect(value(".........", "X")).toBe(0);
  });
  it("a perfect player never loses: draws the perfect opponent, beats the random one mostly", async () => {
    const vsPerfect = await ticTacToeEnv.play!(minimax, { opponent: "perfect", games: 6, seed: 1 });
    expect(vsPerfect).toMatchObject({ games: 6, loss: 0, win: 0, draw: 6, forfeits: 0 });
    const vsRandom = await ticTacToeEnv.play!(minimax, { opponent: "random", games: 20, seed: 1 });
    expect(vsRandom.loss).toBe(0);
    expect(vsRandom.win).toBeGreaterThan(10);
  });
  it("a naive player loses to the perfect opponent; an illegal move forfeits", async () => {
    const r = await ticTacToeEnv.play!(randomish, { opponent: "perfect", games: 6, seed: 1 });
    expect(r.loss).toBeGreaterThan(0);
    expect(r.win).toBe(0);
    const illegal = await ticTacToeEnv.play!(async () => "The answer is 42.", {
      opponent: "random",
      games: 2,
    });
    expect(illegal).toMatchObject({ loss: 2, forfeits: 2 });
  });
});
