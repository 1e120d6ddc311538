// Tic-tac-toe: a multi-turn game against fixed strategies. The model plays X; each turn it sees the
// board and names a cell. Trained on single moves (the checker knows every position's game value
// by minimax: a move that keeps the best value is right), evaluated by whole games against a
// perfect (minimax) player and a random one: win / draw / loss rates per opponent. Difficulty:
// 1 = positions with a win or a forced block, 2 = any position with at least 3 marks, 3 = any.
import { Rng, mixSeed } from "../rng";
import type { ChatMessage } from "../tokenizer";
import {
  type Environment,
  type GameResult,
  type PolicyFn,
  answerFormatOk,
  clampDifficulty,
  drawSplit,
  finalAnswer,
} from "./types";

/** 9 cells, row by row: "X", "O" or ".". */
export type Board = string;
export interface TicTacToeProblem {
  board: Board;
  difficulty: number;
}

const LINES = [
  [0, 1, 2],
  [3, 4, 5],
  [6, 7, 8],
  [0, 3, 6],
  [1, 4, 7],
  [2, 5, 8],
  [0, 4, 8],
  [2, 4, 6],
] as const;

export function winner(b: Board): "X" | "O" | null {
  for (const [a, c, d] of LINES) if (b[a] !== "." && b[a] === b[c] && b[a] === b[d]) return b[a] as "X" | "O";
  return null;
}
const full = (b: Board) => !b.includes(".");
const other = (p: "X" | "O") => (p === "X" ? "O" : "X");
const place = (b: Board, i: number, p: string) => b.slice(0, i) + p + b.slice(i + 1);
export const emptyCells = (b: Board) => [...b].flatMap((c, i) => (c === "." ? [i] : []));

const memo = new Map<string, number>();
/** Game value for `p` to move on b: +1 win, 0 draw, -1 loss, with perfect play by both. */
export function value(b: Board, p: "X" | "O"): number {
  const k = b + p;
  const hit = memo.get(k);
  if (hit !== undefined) return hit;
  const w = winner(b);
  let v: number;
  if (w) v = w === p ? 1 : -1;
  else if (full(b)) v = 0;
  else v = Math.max(...emptyCells(b).map((i) => -value(place(b, i, p), other(p)))) + 0; // + 0: no -0
  memo.set(k, v);
  return v;
}
/** The moves that keep the best value for p (cells 0..8). */
export function bestMoves(b: Board, p: "X" | "O"): number[] {
  const cells = emptyCells(b);
  const vals = cells.map((i) => -value(place(b, i, p), other(p)));
  const best = Math.max(...vals);
  return cells.filter((_, j) => vals[j] === best);
}
function immediate(b: Board, p: "X" | "O"): number[] {
  return emptyCells(b).filter((i) => winner(place(b, i, p)) === p);
}

export function renderBoard(b: Board): string {
  const cell = (i: number) => (b[i] === "." ? String(i + 1) : (b[i] as string));
  return [0, 3, 6].map((r) => `${cell(r)} ${cell(r + 1)} ${cell(r + 2)}`).join("\n");
}
function promptFor(b: Board): ChatMessage[] {
  return [
    {
      role: "user",
      content: `Tic-tac-toe. You are X. Free cells show their number:\n${renderBoard(b)}\nWhich cell do you take?`,
    },
  ];
}
function reason(b: Board): { cell: number; why: string } {
  const win = immediate(b, "X");
  if (win.length) return { cell: win[0] as number, why: `X wins at ${(win[0] as number) + 1}` };
  const block = immediate(b, "O");
  const best = bestMoves(b, "X");
  if (block.length && best.includes(block[0] as number))
    return { cell: block[0] as number, why: `block O at ${(block[0] as number) + 1}` };
  const c = best.includes(4) ? 4 : (best[0] as number);
  return { cell: c, why: `best cell is ${c + 1}` };
}
/** The cell (0..8) a completion names, or null. */
export function moveOf(completion: string): number | null {
  const a = finalAnswer(completion) ?? completion;
  const m = /(\d+)/.exec(a);
  if (!m) return null;
  const n = Number(m[1]);
  return n >= 1 && n <= 9 ? n - 1 : null;
}

function randomPosition(rng: Rng, difficulty: number): TicTacToeProblem {
  for (;;) {
    const first = rng.next() < 0.5 ? "X" : "O";
    let b = ".........";
    const marks = rng.range(difficulty === 2 ? 3 : 0, 7);
    let p: "X" | "O" = first;
    for (let k = 0; k < marks && !winner(b) && !full(b); k++) {
      b = place(b, rng.pick(emptyCells(b)), p);
      p = other(p);
    }
    if (winner(b) || full(b) || p !== "X") continue;
    if (difficulty === 1 && !immediate(b, "X").length && !immediate(b, "O").length) continue;
    return { board: b, difficulty };
  }
}

export const OPPONENTS = ["perfect", "random"] as const;

export const ticTacToeEnv: Environment<TicTacToeProblem> = {
  name: "tictactoe",
  title: "Tic-tac-toe",
  description:
    "Play X: name the cell to take ('The answer is 5.'). Trained on single moves (right = keeps the minimax value); evaluated by whole games against a perfect and a random player. Difficulty 1-3.",
  maxDifficulty: 3,
  defaultDifficulty: 2,
  opponents: OPPONENTS,
  problems(o) {
    const difficulty = clampDifficulty(this, o.difficulty);
    return drawSplit(
      { ...o, difficulty },
      (p) => p.board,
      (rng) => randomPosition(rng, difficulty),
      50,
    );
  },
  key: (p) => p.board,
  prompt: (p) => promptFor(p.board),
  target(p) {
    const r = reason(p.board);
    return `<think>${r.why}.</think>The answer is ${r.cell + 1}.`;
  },
  check(p, completion) {
    const formatOk = answerFormatOk(completion);
    const cell = moveOf(completion);
    if (cell === null || p.board[cell] !== ".")
      return { score: 0, correct: false, formatOk, detail: "illegal" };
    const correct = bestMoves(p.board, "X").includes(cell);
    return { score: correct ? 1 : 0.25, correct, formatOk, detail: correct ? "best" : "legal" };
  },
  parse(json) {
    const o = (json ?? {}) as Partial<TicTacToeProblem>;
    if (typeof o.board !== "string" || !/^[XO.]{9}$/.test(o.board)) return null;
    return { board: o.board, difficulty: Number(o.difficulty ?? 2) };
  },
  async play(policy: PolicyFn, o): Promise<GameResult> {
    if (!(OPPONENTS as readonly string[]).includes(o.opponent))
      throw new Error(`tictactoe: unknown opponent "${o.opponent}" (${OPPONENTS.join(", ")})`);
    const rng = new Rng(mixSeed(o.seed ?? 0, o.opponent === "perfect" ? 1 : 2));
    const res: GameResult = { opponent: o.opponent, games: o.games, win: 0, draw: 0, loss: 0, forfeits: 0 };
    for (let g = 0; g < o.games; g++) {
      let b = ".........";
      let p: "X" | "O" = g % 2 === 0 ? "X" : "O"; // the model starts every other game
      let outcome: "win" | "draw" | "loss" | null = null;
      while (!outcome) {
        if (p === "X") {
          const cell = moveOf(await policy(promptFor(b)));
          if (cell === null || b[cell] !== ".") {
            res.forfeits++;
            outcome = "loss";
            break;
          }
          b = place(b, cell, "X");
        } else {
          const moves = o.opponent === "perfect" ? bestMoves(b, "O") : emptyCells(b);
          b = place(b, rng.pick(moves), "O");
        }
        const w = winner(b);
        if (w) outcome = w === "X" ? "win" : "loss";
        else if (full(b)) outcome = "draw";
        p = other(p);
      }
      res[outcome]++;
    }
    return res;
  },
};
