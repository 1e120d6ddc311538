import { describe, expect, it } from "vitest";
import {
  BUILTIN_RUBRICS,
  needsReference,
  renderRubric,
  renderTemplate,
  validateRubric,
} from "@/server/judges/rubrics";
import { DomainError } from "@/server/errors";

describe("rubrics", () => {
  it("ships MT-Bench's general and reference-guided pairwise prompts", () => {
    const general = BUILTIN_RUBRICS["mt-bench-pair"];
    const ref = BUILTIN_RUBRICS["mt-bench-pair-reference"];
    for (const r of [general, ref]) {
      expect(r.system).toContain(
        '"[[A]]" if assistant A is better, "[[B]]" if assistant B is better, and "[[C]]" for a tie',
      );
      expect(() => validateRubric(r)).not.toThrow();
    }
    expect(needsReference(general)).toBe(false);
    expect(needsReference(ref)).toBe(true);
  });

  it("fills placeholders in one pass (answers containing placeholders stay literal)", () => {
    const out = renderTemplate("Q: {question}\nA: {answer_a}\nB: {answer_b}", {
      question: "q?",
      answer_a: "I say {answer_b}",
      answer_b: "b",
    });
    expect(out).toBe("Q: q?\nA: I say {answer_b}\nB: b");
  });

  it("leaves unrelated braces alone and refuses to send a half-filled prompt", () => {
    expect(renderTemplate('JSON {"x": 1} {answer_a}', { answer_a: "a" })).toBe('JSON {"x": 1} a');
    expect(() => renderTemplate("{reference} {answer_a}", { answer_a: "a" })).toThrow(/needs \{reference\}/);
  });

  it("renders system and user messages", () => {
    const r = renderRubric(BUILTIN_RUBRICS["mt-bench-pair"], {
      question: "Why?",
      answer_a: "Because.",
      answer_b: "No idea.",
    });
    expect(r.messages.map((m) => m.role)).toEqual(["system", "user"]);
    expect(r.messages[1]!.content).toContain("[User Question]\nWhy?");
    expect(r.messages[1]!.content).toContain(
      "[The Start of Assistant A's Answer]\nBecause.\n[The End of Assistant A's Answer]",
    );
  });

  it("validates admin rubrics with clear errors", () => {
    const bad = (system: string, template: string) => {
      try {
        validateRubric({ system, template });
      } catch (e) {
        expect(e).toBeInstanceOf(DomainError);
        return (e as Error).message;
      }
      return "";
    };
    expect(bad("", "{answer_A} vs {answer_b} [[A]] [[B]]")).toMatch(/unknown placeholder \{answer_A\}/);
    expect(bad("", "{answer_a} only [[A]] [[B]]")).toMatch(/must include \{answer_b\}/);
    expect(bad("", "{answer_a} {answer_b} say A or B")).toMatch(/\[\[A\]\]/);
    expect(bad("Say [[A]] or [[B]] or [[C]]", "{question} {answer_a} {answer_b}")).toBe("");
  });
});
