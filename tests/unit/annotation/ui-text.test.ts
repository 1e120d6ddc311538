// What the annotation and admin pages say: tRPC validation errors as sentences (never the raw
// zod JSON), and a recorded verdict written the way the annotator saw the completions.
import { describe, expect, test } from "vitest";
import { errorMessage } from "@/components/annotate/errors";
import { describeAnswer, describeVerdict } from "@/components/annotate/verdict-text";

describe("errorMessage", () => {
  test("field issues from the server's error formatter read as sentences", () => {
    const e = {
      message: '[{"code":"invalid_format","path":["slug"],"message":"x"}]',
      data: {
        zodError: [
          { path: "slug", message: "lowercase letters, digits and -, starting with a letter or digit" },
          { path: "labelSchema.axes.0.key", message: "lowercase letters, digits and _" },
        ],
      },
    };
    expect(errorMessage(e)).toBe(
      "Slug: lowercase letters, digits and -, starting with a letter or digit. Label schema › axes › 1 › key: lowercase letters, digits and _.",
    );
  });
  test("a raw JSON list of issues in the message is made readable too", () => {
    const e = {
      message: JSON.stringify([{ code: "too_small", path: ["overlap"], message: "Too small: expected >=1" }]),
    };
    expect(errorMessage(e)).toBe("Overlap: Too small: expected >=1");
  });
  test("plain messages pass through", () => {
    expect(errorMessage({ message: "Round 3 is already running." })).toBe("Round 3 is already running.");
    expect(errorMessage(null)).toBe("Something went wrong; try again.");
  });
});

describe("verdict text", () => {
  const shown = [
    { id: "c2", label: "A" },
    { id: "c1", label: "B" },
    { id: "c3", label: "C" },
  ];
  test("an answer and the recorded verdict that says the same read the same", () => {
    const mine = describeAnswer({ kind: "pairwise", choice: "B", strength: 2 }, shown, true);
    const recorded = describeVerdict(
      { kind: "pairwise", outcome: "win", winnerId: "c1", loserId: "c2", strength: 2 },
      shown,
      true,
    );
    expect(mine).toBe("B is better (much)");
    expect(recorded).toBe(mine);
    // strength not asked: no "(much)"
    expect(describeAnswer({ kind: "pairwise", choice: "A" }, shown, false)).toBe("A is better");
  });
  test("different votes read differently", () => {
    expect(describeVerdict({ kind: "pairwise", outcome: "tie" }, shown, true)).toBe("Tie");
    expect(describeAnswer({ kind: "pairwise", choice: "both_bad" }, shown, true)).toBe("Both bad");
  });
  test("rankings in display labels, ties with =", () => {
    expect(describeVerdict({ kind: "ranking", ranking: [["c3"], ["c2", "c1"]] }, shown, false)).toBe(
      "C > A = B",
    );
    expect(describeAnswer({ kind: "ranking", ranking: [["c3"], ["c2", "c1"]] }, shown, false)).toBe(
      "C > A = B",
    );
  });
});
