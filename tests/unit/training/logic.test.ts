// Pure parts of the trainer service: cron, settings, the gate, active-learning priority,
// simulated annotators.
import { describe, expect, it } from "vitest";
import { cronMatches, firedBetween, nextFire, parseCron } from "@/server/training/cron";
import {
  mergeSettings,
  parseTrainingSettings,
  PREFERENCE_METHODS,
  ENVIRONMENT_NAMES,
  TrainingSettings,
} from "@/server/training/settings";
import { gateDecision } from "@/server/training/stages/evaluate";
import { uncertaintyPriority } from "@/server/training/stages/generate";
import { storableText } from "@/server/judges/content";
import { simulatedVerdict } from "@/server/training/labeling";
import { ENVIRONMENT_NAMES as TRAINER_ENVIRONMENTS, GRPO_LOSS_TYPES, PAIRWISE_METHODS } from "@/trainer";
import { ratingOf } from "@/server/training/grpo-judge";

const at = (iso: string) => new Date(iso);

describe("cron", () => {
  it("parses fields, lists, ranges, steps and names", () => {
    const c = parseCron("*/15 9-17 * jan,jul mon-fri");
    expect([...c.minutes]).toEqual([0, 15, 30, 45]);
    expect([...c.hours]).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect([...c.months]).toEqual([1, 7]);
    expect([...c.daysOfWeek]).toEqual([1, 2, 3, 4, 5]);
    expect([...parseCron("0 0 * * 7").daysOfWeek]).toEqual([0]);
    expect([...parseCron("10-50/20 * * * *").minutes]).toEqual([10, 30, 50]);
  });
  it("rejects bad expressions with the field named", () => {
    expect(() => parseCron("* * * *")).toThrow(/5 fields/);
    expect(() => parseCron("61 * * * *")).toThrow(/minute: 61 is outside 0-59/);
    expect(() => parseCron("* * * foo *")).toThrow(/month: "foo"/);
    expect(() => parseCron("*/0 * * * *")).toThrow(/step/);
  });
  it("matches in UTC, with Vixie's either-day rule", () => {
    const c = parseCron("0 3 1 * mon");
    expect(cronMatches(c, at("2026-12-01T03:00:30Z"))).toBe(true); // the 1st (a Tuesday)
    expect(cronMatches(c, at("2026-12-07T03:00:00Z"))).toBe(true); // a Monday
    expect(cronMatches(c, at("2026-12-08T03:00:00Z"))).toBe(false);
    expect(cronMatches(c, at("2026-12-07T03:01:00Z"))).toBe(false);
  });
  it("finds the slot that fired in a window, once", () => {
    const c = parseCron("0 3 * * *");
    expect(firedBetween(c, at("2026-12-01T02:59:00Z"), at("2026-12-01T03:00:10Z"))?.toISOString()).toBe(
      "2026-12-01T03:00:00.000Z",
    );
    // the window starts at the round it made: the same slot does not fire again
    expect(firedBetween(c, at("2026-12-01T03:00:05Z"), at("2026-12-01T03:04:00Z"))).toBeNull();
    expect(firedBetween(c, at("2026-12-01T03:00:05Z"), at("2026-12-02T03:00:00Z"))?.toISOString()).toBe(
      "2026-12-02T03:00:00.000Z",
    );
  });
  it("computes the next firing time", () => {
    expect(nextFire(parseCron("30 4 * * sun"), at("2026-12-01T00:00:00Z"))?.toISOString()).toBe(
      "2026-12-06T04:30:00.000Z",
    );
    expect(nextFire(parseCron("0 0 29 2 *"), at("2027-01-01T00:00:00Z"))?.toISOString()).toBe(
      "2028-02-29T00:00:00.000Z",
    );
  });
});

describe("training settings", () => {
  it("fills every default from {}", () => {
    const s = parseTrainingSettings({});
    expect(s.policy.method).toBe("dpo");
    expect(s.policy.reference).toBe("previous");
    expect(s.gate.minWinRate).toBe(0.5);
    expect(s.schedule).toEqual({ cron: null, minNewPairs: null });
    expect(s.model.preset).toBe("tiny");
  });
  it("names the bad field", () => {
    expect(() => parseTrainingSettings({ schedule: { cron: "every day" } })).toThrow(
      /schedule\.cron: expected a 5-field cron/,
    );
    expect(() => parseTrainingSettings({ policy: { method: "ppo" } })).toThrow(/policy\.method/);
  });
  it("offers every pairwise method of the trainer", () => {
    expect([...PREFERENCE_METHODS].sort()).toEqual([...PAIRWISE_METHODS].sort());
    expect(TrainingSettings.shape.policy).toBeDefined();
  });
  it("offers every environment and GRPO loss type of the trainer", () => {
    expect([...ENVIRONMENT_NAMES].sort()).toEqual([...TRAINER_ENVIRONMENTS].sort());
    for (const lossType of GRPO_LOSS_TYPES)
      expect(parseTrainingSettings({ grpo: { lossType } }).grpo.lossType).toBe(lossType);
    expect(() => parseTrainingSettings({ grpo: { lossType: "ppo" } })).toThrow(/grpo\.lossType/);
    const s = parseTrainingSettings({ task: "sorting", policy: { method: "grpo" } });
    expect(s.grpo).toMatchObject({ numGenerations: 4, lossType: "dapo", scaleRewards: "group", beta: 0.04 });
    expect(() => parseTrainingSettings({ grpo: { environments: [{ name: "chess" }] } })).toThrow(/grpo/);
  });
  it("reads an LLM judge's 1-10 rating as a reward in [0, 1]", () => {
    expect(ratingOf("8")).toBeCloseTo(7 / 9, 12);
    expect(ratingOf("Rating: 10.")).toBe(1);
    expect(ratingOf("1")).toBe(0);
    expect(ratingOf("no idea")).toBeNull();
    expect(ratingOf(null)).toBeNull();
  });
  it("merges patches deeply", () => {
    expect(
      mergeSettings({ policy: { beta: 0.2, steps: 5 }, task: "miniR1" }, { policy: { steps: 9 } }),
    ).toEqual({ policy: { beta: 0.2, steps: 9 }, task: "miniR1" });
  });
});

describe("gate", () => {
  const gate = { minWinRate: 0.5, maxKl: 5, minGoldDelta: null };
  it("promotes when every criterion holds and says why", () => {
    expect(gateDecision(gate, { winRate: 0.62, kl: 1.25, goldAccuracy: 0.4, prevGoldAccuracy: 0.3 })).toEqual(
      { passed: true, reason: "promoted: win rate 0.62 ≥ 0.50; KL 1.25 ≤ 5.00" },
    );
  });
  it("rejects with each failed criterion named", () => {
    const d = gateDecision(
      { ...gate, minGoldDelta: 0 },
      { winRate: 0.41, kl: 7, goldAccuracy: 0.3, prevGoldAccuracy: 0.35 },
    );
    expect(d.passed).toBe(false);
    expect(d.reason).toBe("rejected: win rate 0.41 < 0.50; KL 7.00 > 5.00; gold accuracy -0.05 < +0.00");
  });
  it("does not fail on what it could not measure", () => {
    expect(
      gateDecision(gate, { winRate: null, kl: null, goldAccuracy: null, prevGoldAccuracy: null }).passed,
    ).toBe(true);
  });
});

describe("active learning priority", () => {
  it("is 1 for a coin flip and falls with the reward gap", () => {
    expect(uncertaintyPriority([0.3, 0.3])).toBe(1);
    const near = uncertaintyPriority([0, 0.1]);
    const far = uncertaintyPriority([0, 3]);
    expect(near).toBeGreaterThan(far);
    // 1 - 2|σ(3) - 0.5|, computed independently
    expect(far).toBeCloseTo(1 - 2 * (1 / (1 + Math.exp(-3)) - 0.5), 12);
    expect(uncertaintyPriority([5, -5])).toBeLessThan(0.001);
  });
  it("takes the least certain pair of a K-way comparison", () => {
    expect(uncertaintyPriority([0, 4, 4.2])).toBeCloseTo(uncertaintyPriority([4, 4.2]), 12);
  });
});

describe("simulated annotators", () => {
  const ids = ["a", "b"] as const;
  it("follow the gold answer, and flip at the noise rate", () => {
    expect(simulatedVerdict(ids, [1, 0], 0, "k", true)).toMatchObject({ outcome: "win", winnerId: "a" });
    expect(simulatedVerdict(ids, [0.2, 1], 0, "k", true)).toMatchObject({ outcome: "win", winnerId: "b" });
    expect(simulatedVerdict(ids, [0, 0], 0.5, "k", true)).toEqual({ kind: "pairwise", outcome: "both_bad" });
    expect(simulatedVerdict(ids, [1, 1], 0.5, "k", true)).toEqual({ kind: "pairwise", outcome: "tie" });
    let flipped = 0;
    for (let i = 0; i < 4000; i++)
      flipped +=
        (simulatedVerdict(ids, [1, 0], 0.2, `key-${i}`, true) as { winnerId: string }).winnerId === "b"
          ? 1
          : 0;
    expect(flipped / 4000).toBeGreaterThan(0.17);
    expect(flipped / 4000).toBeLessThan(0.23);
  });
});

describe("storable text", () => {
  it("replaces NUL, which PostgreSQL text cannot hold", () => {
    expect(storableText("a\u0000b")).toBe("a\uFFFDb");
    expect(storableText("plain")).toBe("plain");
  });
});
