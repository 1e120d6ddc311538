// Every loss and metric of trainer/losses.ts against an independent float64 NumPy reference
// (fixtures/losses_ref.py -> fixtures/losses.json), to 1e-5 (relative above 1).
import * as tf from "@tensorflow/tfjs";
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ktoLoss,
  lmLoss,
  preferenceLoss,
  readMetrics,
  rewardModelLoss,
  selectBackend,
  sequenceLogpsFromTokens,
  type PairwiseMethod,
} from "../../../trainer/index";

const fx = JSON.parse(readFileSync(path.join(import.meta.dirname, "fixtures", "losses.json"), "utf8"));
const TOL = 1e-5;

function close(actual: number, expected: number, what: string) {
  const err = Math.abs(actual - expected);
  const tol = TOL * Math.max(1, Math.abs(expected));
  if (!(err <= tol)) throw new Error(`${what}: got ${actual}, expected ${expected} (|diff| ${err} > ${tol})`);
}
async function closeVec(t: tf.Tensor, expected: number[], what: string) {
  const a = Array.from(await t.data());
  expect(a.length).toBe(expected.length);
  a.forEach((v, i) => close(v, expected[i] as number, `${what}[${i}]`));
}
const v = (xs: number[]) => tf.tensor1d(xs);

beforeAll(async () => {
  await selectBackend({ force: "cpu", log: () => {} });
});

describe("preference losses (TRL definitions)", () => {
  const methods: PairwiseMethod[] = ["dpo", "cdpo", "robust", "hinge", "ipo", "cpo", "simpo", "orpo", "rpo"];
  for (const c of fx.pair) {
    for (const m of [...methods, "dpo_beta0.5", "rpo_alpha0.5"]) {
      it(`${m} / ${c.name}`, async () => {
        const method = (m === "dpo_beta0.5" ? "dpo" : m === "rpo_alpha0.5" ? "rpo" : m) as PairwiseMethod;
        const beta = m === "dpo_beta0.5" ? 0.5 : c.beta;
        const eps = method === "hinge" || method === "ipo" || method === "orpo" ? 0 : c.labelSmoothing;
        const exp = c.expected[m];
        const x = c.inputs;
        const r = preferenceLoss(
          method,
          {
            policyChosenLogps: v(x.policyChosenLogps),
            policyRejectedLogps: v(x.policyRejectedLogps),
            refChosenLogps: v(x.refChosenLogps),
            refRejectedLogps: v(x.refRejectedLogps),
            chosenLengths: v(x.chosenLengths),
            rejectedLengths: v(x.rejectedLengths),
          },
          {
            beta,
            labelSmoothing: typeof eps === "number" ? eps : v(eps),
            simpoGamma: c.simpoGamma,
            cpoAlpha: method === "cpo" ? c.cpoAlpha : 0,
            rpoAlpha: m === "rpo_alpha0.5" ? 0.5 : c.rpoAlpha,
          },
        );
        close((await r.loss.data())[0] as number, exp.loss, "loss");
        await closeVec(r.losses, exp.losses, "losses");
        await closeVec(r.chosenRewards, exp.chosenRewards, "chosenRewards");
        await closeVec(r.rejectedRewards, exp.rejectedRewards, "rejectedRewards");
        const got = await readMetrics(r.metrics);
        expect(Object.keys(got).sort()).toEqual(Object.keys(exp.metrics).sort());
        for (const [k, e] of Object.entries(exp.metrics)) close(got[k] as number, e as number, k);
      });
    }
  }

  it("reference methods refuse to run without reference log-probs", () => {
    expect(() =>
      preferenceLoss("dpo", {
        policyChosenLogps: v([-1]),
        policyRejectedLogps: v([-2]),
        chosenLengths: v([1]),
        rejectedLengths: v([1]),
      }),
    ).toThrow(/reference/);
  });
});

describe("reward model loss (Bradley-Terry)", () => {
  for (const c of fx.reward) {
    it(c.name, async () => {
      const r = rewardModelLoss(v(c.rewardsChosen), v(c.rewardsRejected), {
        margin: c.margin ? v(c.margin) : undefined,
        centerRewardsCoefficient: c.centerRewardsCoefficient,
      });
      close((await r.loss.data())[0] as number, c.expected.loss, "loss");
      const got = await readMetrics(r.metrics);
      for (const [k, e] of Object.entries(c.expected.metrics)) close(got[k] as number, e as number, k);
    });
  }
});

describe("KTO loss", () => {
  for (const c of fx.kto) {
    it(c.name, async () => {
      const x = c.inputs;
      const r = ktoLoss(
        {
          policyLogps: v(x.policyLogps),
          refLogps: v(x.refLogps),
          labels: v(x.labels),
          policyKlLogps: v(x.policyKlLogps),
          refKlLogps: v(x.refKlLogps),
        },
        { beta: c.beta, desirableWeight: c.desirableWeight, undesirableWeight: c.undesirableWeight },
      );
      close((await r.loss.data())[0] as number, c.expected.loss, "loss");
      await closeVec(r.losses, c.expected.losses, "losses");
      const got = await readMetrics(r.metrics);
      for (const [k, e] of Object.entries(c.expected.metrics)) close(got[k] as number, e as number, k);
    });
  }
});

describe("LM loss", () => {
  for (const c of fx.lm) {
    it(c.name, async () => {
      const lp = tf.tensor2d(c.tokenLogps);
      const mask = tf.tensor2d(c.mask);
      close((await lmLoss(lp, mask).data())[0] as number, c.expected.loss, "loss");
      await closeVec(sequenceLogpsFromTokens(lp, mask), c.expected.sequenceLogps, "sequenceLogps");
    });
  }
});
