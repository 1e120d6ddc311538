// Pure pieces of the judging UI and the answer mapping.
import { describe, expect, test } from "vitest";
import {
  initialRanking,
  moveItem,
  moveTo,
  places,
  toGroups,
  toggleTie,
  toggleUnranked,
} from "@/components/annotate/ranking-model";
import { splitReasoning } from "@/components/annotate/reasoning";
import { safeUrl } from "@/components/markdown/markdown";
import { pairwiseVerdict, rankingVerdict } from "@/server/annotation/answer";
import { LabelSchema } from "@/server/projects/schema";

describe("ranking model", () => {
  test("move, tie, leave unranked, and read back as best-first groups", () => {
    let items = initialRanking(["a", "b", "c", "d"]);
    let r = moveItem(items, 3, -1); // d above c
    expect(r.items.map((i) => i.id)).toEqual(["a", "b", "d", "c"]);
    expect(r.index).toBe(2);
    items = toggleTie(r.items, 1); // b ties with a
    expect(toGroups(items)).toEqual([["a", "b"], ["d"], ["c"]]);
    expect(places(items)).toEqual([1, 1, 3, 4]);
    r = toggleUnranked(items, 0); // a leaves the ranking: b is first now and cannot stay tied
    expect(r.items.map((i) => i.id)).toEqual(["b", "d", "c", "a"]);
    expect(toGroups(r.items)).toEqual([["b"], ["d"], ["c"]]);
    expect(places(r.items)).toEqual([1, 2, 3, null]);
    expect(moveItem(r.items, 0, -1).items).toEqual(r.items); // out of range: unchanged
    expect(toGroups(moveTo(initialRanking(["a", "b", "c"]), "c", "a"))).toEqual([["c"], ["a"], ["b"]]);
    expect(toggleTie(initialRanking(["a", "b"]), 0)).toEqual(initialRanking(["a", "b"])); // the first cannot tie upward
  });
});

describe("reasoning traces", () => {
  test("<think> blocks split from the answer; unclosed means all reasoning", () => {
    expect(splitReasoning("<think>step 1\nstep 2</think>\n\nAnswer: 4")).toEqual({
      reasoning: "step 1\nstep 2",
      answer: "Answer: 4",
    });
    expect(splitReasoning("plain")).toEqual({ reasoning: null, answer: "plain" });
    expect(splitReasoning("<think>never finished")).toEqual({ reasoning: "never finished", answer: "" });
    expect(splitReasoning("Intro <THINK>x</THINK> end")).toEqual({ reasoning: "x", answer: "Intro  end" });
  });
});

describe("urls", () => {
  test("only http(s) and mailto survive", () => {
    expect(safeUrl("https://example.com/x")).toBe("https://example.com/x");
    expect(safeUrl("mailto:a@b.c")).toBe("mailto:a@b.c");
    expect(safeUrl("javascript:alert(1)")).toBe("");
    expect(safeUrl(" JaVaScRiPt:alert(1)")).toBe("");
    expect(safeUrl("data:text/html;base64,PHNjcmlwdD4=")).toBe("");
    expect(safeUrl("vbscript:msgbox")).toBe("");
    expect(safeUrl("/relative/path")).toBe("/relative/path");
  });
});

describe("answers to verdicts", () => {
  const pairwise = LabelSchema.parse({ kind: "pairwise" });
  test("A/B through the display order; strength only when asked", () => {
    expect(pairwiseVerdict({ kind: "pairwise", choice: "B", strength: 2 }, ["x", "y"], pairwise)).toEqual({
      kind: "pairwise",
      outcome: "win",
      winnerId: "y",
      loserId: "x",
      strength: 2,
    });
    const noStrength = LabelSchema.parse({ kind: "pairwise", strength: false });
    expect(
      pairwiseVerdict({ kind: "pairwise", choice: "A", strength: 2 }, ["y", "x"], noStrength),
    ).toMatchObject({ winnerId: "y", strength: 1 });
    expect(() =>
      pairwiseVerdict(
        { kind: "pairwise", choice: "both_bad" },
        ["x", "y"],
        LabelSchema.parse({ kind: "pairwise", allowBothBad: false }),
      ),
    ).toThrow(/both bad/);
  });
  test("rankings: only shown completions, each once", () => {
    const ranking = LabelSchema.parse({ kind: "ranking" });
    expect(() => rankingVerdict({ kind: "ranking", ranking: [["a"], ["a"]] }, ["a", "b"], ranking)).toThrow(
      /twice/,
    );
    expect(() => rankingVerdict({ kind: "ranking", ranking: [["a"]] }, ["a", "b"], ranking)).toThrow(
      /at least two/,
    );
  });
});
