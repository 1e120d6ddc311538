// How a judge run that went through its selection is reported: never "succeeded" with nothing judged.
import { describe, expect, test } from "vitest";
import { runOutcome } from "@/server/judges/runner";

describe("runOutcome", () => {
  test("every comparison judged: succeeded", () => {
    expect(runOutcome({ done: 35, failed: 0, unparseable: 0 })).toEqual({ status: "succeeded", error: null });
  });
  test("no verdict anywhere: failed, with the counts", () => {
    expect(runOutcome({ done: 0, failed: 0, unparseable: 35 })).toEqual({
      status: "failed",
      error: "No comparison was judged: 35 reply(ies) had no verdict; see the attempts for the reasons.",
    });
  });
  test("some judged, some not: completed_with_errors", () => {
    expect(runOutcome({ done: 30, failed: 2, unparseable: 3 })).toEqual({
      status: "completed_with_errors",
      error:
        "30 judged, but 2 comparison(s) failed; 3 reply(ies) had no verdict; see the attempts for the reasons.",
    });
  });
});
