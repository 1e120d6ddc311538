// Verdict parsing never guesses; confidence comes from the verdict token's probability mass.
import { describe, expect, it } from "vitest";
import { parseVerdict, verdictProbabilities, type TokenLogprob } from "@/server/judges/verdict";
import {
  combineSides,
  identityVerdict,
  knownAnswer,
  questionText,
  referenceText,
} from "@/server/judges/content";

describe("parseVerdict", () => {
  it.each([
    ["The first is better. [[A]]", "A"],
    ["[[B]]", "B"],
    ["Both equal: [[C]]", "C"],
    ["[[ A ]]", "A"],
    ["[[\tB\n]]", "B"],
    ["final verdict: [[a]]", "A"],
    ["Considering [[A]] at first... on reflection the final verdict is [[B]].", "B"], // the LAST marker
    ['My verdict: "[[B]]"', "B"],
    ["**[[A]]**", "A"],
  ])("%j -> %s", (reply, want) => {
    const p = parseVerdict(reply);
    expect(p.ok).toBe(true);
    if (p.ok) expect(p.verdict).toBe(want);
  });

  it.each([
    ["", "empty reply"],
    ["   ", "empty reply"],
    ["Assistant A is clearly better.", "no [[A]]"],
    ["[A]", "no [[A]]"],
    ["[[D]]", "no [[A]]"],
    ["[[AB]]", "no [[A]]"],
    ["[[ A B ]]", "no [[A]]"],
  ])("%j is unparseable", (reply, reason) => {
    const p = parseVerdict(reply);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.reason).toContain(reason);
  });

  it("does not read a verdict from an echo of the instructions", () => {
    const echo =
      'I must output "[[A]]" if assistant A is better, "[[B]]" if assistant B is better, and "[[C]]" for a tie.';
    const p = parseVerdict(echo);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.reason).toMatch(/repeats the verdict instructions/);
    const withRuling = parseVerdict(`${echo}\nHaving compared them: [[B]]`);
    expect(withRuling).toMatchObject({ ok: true, verdict: "B" });
  });

  it("never guesses for null/undefined", () => {
    expect(parseVerdict(null).ok).toBe(false);
    expect(parseVerdict(undefined).ok).toBe(false);
  });
});

describe("verdictProbabilities", () => {
  const reply = "Reasoning. [[B]]";
  const tokens: TokenLogprob[] = [
    { token: "Reason", logprob: -0.1 },
    { token: "ing.", logprob: -0.2 },
    { token: " [[", logprob: -0.01 },
    {
      token: "B",
      logprob: Math.log(0.7),
      top_logprobs: [
        { token: "B", logprob: Math.log(0.7) },
        { token: "A", logprob: Math.log(0.2) },
        { token: " B", logprob: Math.log(0.05) },
        { token: "C", logprob: Math.log(0.03) },
      ],
    },
    { token: "]]", logprob: -0.001 },
  ];

  it("sums the mass of the verdict letter's variants at the verdict position", () => {
    const p = parseVerdict(reply);
    if (!p.ok) throw new Error("parse");
    const probs = verdictProbabilities(reply, p, tokens)!;
    expect(probs.chosen).toBeCloseTo(0.75, 10);
    expect(probs.byLetter.A).toBeCloseTo(0.2, 10);
    expect(probs.byLetter.C).toBeCloseTo(0.03, 10);
  });

  it("uses the sampled token alone when no alternatives came back", () => {
    const p = parseVerdict(reply);
    if (!p.ok) throw new Error("parse");
    const noTop = tokens.map((t) => ({ token: t.token, logprob: t.logprob }));
    expect(verdictProbabilities(reply, p, noTop)!.chosen).toBeCloseTo(0.7, 10);
  });

  it("finds the letter when the marker is one token, and returns null without logprobs", () => {
    const r = "ok [[A]]";
    const p = parseVerdict(r);
    if (!p.ok) throw new Error("parse");
    expect(
      verdictProbabilities(r, p, [
        { token: "ok ", logprob: 0 },
        { token: "[[A]]", logprob: Math.log(0.9) },
      ])!.chosen,
    ).toBeCloseTo(0.9, 10);
    expect(verdictProbabilities(r, p, null)).toBeNull();
    expect(verdictProbabilities(r, p, [])).toBeNull();
  });
});

describe("position swap", () => {
  it("maps positional letters to completions", () => {
    expect(identityVerdict("A", "AB")).toBe("a");
    expect(identityVerdict("A", "BA")).toBe("b");
    expect(identityVerdict("B", "BA")).toBe("a");
    expect(identityVerdict("C", "BA")).toBe("tie");
  });

  it("keeps a consistent verdict with the mean probability", () => {
    const c = combineSides([
      { order: "AB", letter: "A", probability: 0.9 },
      { order: "BA", letter: "B", probability: 0.7 },
    ]);
    expect(c).toEqual({ verdict: "a", swap: "consistent", confidence: expect.closeTo(0.8, 10) });
  });

  it("records an inconsistent pair (same position twice, or decisive vs tie) as a tie with confidence 0", () => {
    expect(
      combineSides([
        { order: "AB", letter: "A", probability: 0.9 },
        { order: "BA", letter: "A", probability: 0.9 },
      ]),
    ).toEqual({ verdict: "tie", swap: "inconsistent", confidence: 0 });
    expect(
      combineSides([
        { order: "AB", letter: "B", probability: null },
        { order: "BA", letter: "C", probability: null },
      ]),
    ).toEqual({ verdict: "tie", swap: "inconsistent", confidence: 0 });
  });

  it("has no confidence without logprobs, and passes a single order through", () => {
    expect(
      combineSides([
        { order: "AB", letter: "C", probability: null },
        { order: "BA", letter: "C", probability: 0.5 },
      ]),
    ).toEqual({ verdict: "tie", swap: "consistent", confidence: null });
    expect(combineSides([{ order: "AB", letter: "B", probability: 0.6 }])).toEqual({
      verdict: "b",
      swap: "off",
      confidence: 0.6,
    });
  });
});

describe("comparison content", () => {
  it("renders questions from text and conversations", () => {
    expect(questionText({ text: "What is 2+2?", messages: null, metadata: {} })).toBe("What is 2+2?");
    expect(questionText({ text: null, messages: [{ role: "user", content: "Hi" }], metadata: {} })).toBe(
      "Hi",
    );
    expect(
      questionText({
        text: null,
        messages: [
          { role: "system", content: "Be brief" },
          { role: "user", content: "Hi" },
        ],
        metadata: {},
      }),
    ).toBe("[system]\nBe brief\n\n[user]\nHi");
  });

  it("finds known answers and references in comparison or prompt metadata", () => {
    expect(knownAnswer({}, { task: "miniR1", problem: { answer: 12 } })).toBe(12);
    expect(knownAnswer({ answer: "7" }, { answer: 3 })).toBe(7);
    expect(knownAnswer({}, { answer: "seven" })).toBeNull();
    expect(referenceText({}, { reference: "Paris" })).toBe("Paris");
    expect(referenceText({}, { problem: { answer: 5 } })).toBe("The answer is 5.");
    expect(referenceText({}, {})).toBeNull();
  });
});
