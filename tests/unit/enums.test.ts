// The shared vocabularies: what the UI offers is exactly what the server accepts.
import { describe, expect, test } from "vitest";
import { FLAG_KINDS, FlagKind, SKIP_REASONS, SkipReason } from "@/server/enums";
import { annotationRoutes } from "@/server/api/annotation";

describe("shared enums", () => {
  test("the UI's skip reasons and flag kinds are the values the server accepts, in order", () => {
    expect(SKIP_REASONS.map((o) => o.value)).toEqual([...SkipReason]);
    expect(FLAG_KINDS.map((o) => o.value)).toEqual([...FlagKind]);
  });

  test("the REST skip route accepts every reason the UI offers, and nothing else", () => {
    const body = annotationRoutes.annotationSkip.body;
    for (const { value } of SKIP_REASONS)
      expect(body.safeParse({ assignmentId: "a1", reason: value, note: "why" }).success).toBe(true);
    expect(body.safeParse({ assignmentId: "a1", reason: "because" }).success).toBe(false);
  });
});
