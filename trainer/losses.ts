// Every loss of the trainer, as pure functions over per-sequence log-probabilities (or rewards),
// with TRL's definitions and metric names, so each can be checked alone (tests/unit/trainer/losses).
//
// Inputs are 1-D tensors of length B (one entry per pair/example). Policy/reference log-probs are
// SUMMED over completion tokens; the methods that average per token (IPO, SimPO, ORPO) divide by
// the completion lengths themselves, as TRL does. Metric values are scalar tensors: read them only
// at log intervals (`readMetrics` is the sync point).
import * as tf from "@tensorflow/tfjs";

export type Metrics = Record<string, tf.Scalar>;

/** Identity whose gradient is zero (torch's .detach()). */
export const stopGradient = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as <T extends tf.Tensor>(x: T) => T;

const mean = (x: tf.Tensor) => tf.mean(x) as tf.Scalar;

/**
 * log σ(x) = -softplus(-x). Not tf.logSigmoid: its custom gradient reads its input after the tape's
 * tidy has freed it ("Cannot read properties of undefined (reading 'backend')" in tfjs 4.22).
 */
export function logSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.neg(tf.softplus(tf.neg(x)));
}
const asVector = (x: number | tf.Tensor1D, n: number): tf.Tensor1D =>
  typeof x === "number" ? tf.fill([n], x) : x;

/** Masked mean; 0 where the mask is empty. */
function maskedMean(x: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.div(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}

// ---------------------------------------------------------------------------------------------
// Language modelling (pretraining / SFT)

/** Mean negative log-likelihood over masked tokens: tokenLogps, mask (B, T) -> scalar. */
export function lmLoss(tokenLogps: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  return tf.neg(maskedMean(tokenLogps, mask));
}

/** Per-sequence sum of masked token log-probs: (B, T) -> (B). */
export function sequenceLogpsFromTokens(tokenLogps: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor1D {
  return tf.sum(tf.mul(tokenLogps, mask), 1) as tf.Tensor1D;
}

// ---------------------------------------------------------------------------------------------
// Reward model (TRL RewardTrainer)

export interface RewardLossOptions {
  /** Per-pair margin m: loss = -log σ(r_c - r_r - m). */
  margin?: tf.Tensor1D;
  /** TRL center_rewards_coefficient: adds coef * mean((r_c + r_r)^2). */
  centerRewardsCoefficient?: number;
}

/**
 * Bradley-Terry loss -mean(log σ(r_c - r_r [- m])) [+ c * mean((r_c + r_r)^2)].
 * Metrics (TRL names): accuracy (r_c > r_r strictly), margin (mean r_c - r_r), min/mean/max_reward.
 */
export function rewardModelLoss(
  rewardsChosen: tf.Tensor1D,
  rewardsRejected: tf.Tensor1D,
  opts: RewardLossOptions = {},
): { loss: tf.Scalar; metrics: Metrics } {
  let diff = tf.sub(rewardsChosen, rewardsRejected);
  const rawDiff = diff;
  if (opts.margin) diff = tf.sub(diff, opts.margin);
  let loss = tf.neg(mean(logSigmoid(diff)));
  if (opts.centerRewardsCoefficient) {
    loss = tf.add(
      loss,
      tf.mul(opts.centerRewardsCoefficient, mean(tf.square(tf.add(rewardsChosen, rewardsRejected)))),
    );
  }
  const all = tf.concat([rewardsChosen, rewardsRejected]);
  return {
    loss: loss as tf.Scalar,
    metrics: {
      accuracy: mean(tf.cast(tf.greater(rewardsChosen, rewardsRejected), "float32")),
      margin: mean(rawDiff),
      min_reward: tf.min(all) as tf.Scalar,
      mean_reward: mean(all),
      max_reward: tf.max(all) as tf.Scalar,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Pairwise preference optimisation (TRL DPOTrainer / CPOTrainer / ORPOTrainer)

export type PairwiseMethod = "dpo" | "ipo" | "cdpo" | "robust" | "hinge" | "cpo" | "simpo" | "orpo" | "rpo";
export type PreferenceMethod = PairwiseMethod | "kto";
export const PAIRWISE_METHODS: readonly PairwiseMethod[] = [
  "dpo",
  "ipo",
  "cdpo",
  "robust",
  "hinge",
  "cpo",
  "simpo",
  "orpo",
  "rpo",
];

/** Methods that need a frozen reference model's log-probs. */
export function needsReference(method: PreferenceMethod): boolean {
  return (
    method === "dpo" ||
    method === "ipo" ||
    method === "cdpo" ||
    method === "robust" ||
    method === "hinge" ||
    method === "kto" ||
    method === "rpo"
  );
}

export interface PairLogps {
  /** Policy log-probs of the chosen / rejected completions, summed over completion tokens (B). */
  policyChosenLogps: tf.Tensor1D;
  policyRejectedLogps: tf.Tensor1D;
  /** Completion token counts (B); used by the length-normalised methods (ipo, simpo, orpo) and the NLL. */
  chosenLengths: tf.Tensor1D;
  rejectedLengths: tf.Tensor1D;
  /** Reference log-probs (summed), required by dpo, ipo, cdpo, robust, hinge. */
  refChosenLogps?: tf.Tensor1D;
  refRejectedLogps?: tf.Tensor1D;
}

export interface PreferenceLossOptions {
  /** β: inverse temperature / KL strength (TRL default 0.1). For IPO it is τ; for ORPO it is λ. */
  beta?: number;
  /** ε for cdpo / robust / cpo / simpo: a number, or one value per pair (B). */
  labelSmoothing?: number | tf.Tensor1D;
  /** SimPO target reward margin γ (TRL simpo_gamma, default 0.5). */
  simpoGamma?: number;
  /** Weight of the NLL term on chosen completions for cpo (default 1) and simpo (default 0, pure SimPO). */
  cpoAlpha?: number;
  /** Weight α of the NLL term on chosen completions for rpo (TRL rpo_alpha; default 1). */
  rpoAlpha?: number;
}

export interface PreferenceLossResult {
  loss: tf.Scalar;
  /** Per-pair preference loss (B), before the mean and without the NLL term. */
  losses: tf.Tensor1D;
  chosenRewards: tf.Tensor1D;
  rejectedRewards: tf.Tensor1D;
  metrics: Metrics;
}

/**
 * log(1 - exp(x)) for x < 0, stable on both sides of -ln 2 (x is clamped to <= -1e-7).
 * A custom gradient, d/dx = -1 / expm1(-x): tf.where's condition (tf.greater) has no gradient, and
 * the tape would try to differentiate through it.
 */
export const log1mexp = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const xc = tf.minimum(x, -1e-7);
  save([xc]);
  const near0 = tf.log(tf.neg(tf.sub(tf.exp(xc), 1))); // log(-expm1(x)), for x > -ln2
  const far = tf.log1p(tf.neg(tf.exp(xc)));
  return {
    value: tf.where(tf.greater(xc, -Math.LN2), near0, far),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
      tf.div(dy, tf.neg(tf.sub(tf.exp(tf.neg(saved[0] as tf.Tensor)), 1))),
    ],
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor;

/** DPO-style sigmoid loss with label smoothing: -(1-ε) log σ(βz) - ε log σ(-βz). */
function smoothedSigmoid(z: tf.Tensor, beta: number, eps: tf.Tensor1D): tf.Tensor1D {
  const bz = tf.mul(beta, z);
  return tf.sub(
    tf.neg(tf.mul(logSigmoid(bz), tf.sub(1, eps))),
    tf.mul(logSigmoid(tf.neg(bz)), eps),
  ) as tf.Tensor1D;
}

/**
 * Pairwise preference loss. Per method (z = logits below):
 *  dpo     z = (π_c - π_r) - (ref_c - ref_r);  -log σ(βz)                           (ε per pair if given)
 *  cdpo    same with label smoothing ε: -(1-ε) log σ(βz) - ε log σ(-βz)
 *  robust  (-(1-ε) log σ(βz) + ε log σ(-βz)) / (1 - 2ε)
 *  hinge   relu(1 - βz)
 *  ipo     ((π_c - ref_c)/|y_c| - (π_r - ref_r)/|y_r| - 1/(2β))^2                 (TRL's length-normalised IPO)
 *  cpo     z = π_c - π_r (no reference); smoothed sigmoid + cpoAlpha * NLL(chosen)
 *  simpo   z = π̄_c - π̄_r - γ/β with π̄ = π/|y| (per-token means); smoothed sigmoid + cpoAlpha * NLL
 *  orpo    NLL(chosen) - β mean(log σ(log_odds)), log_odds = (π̄_c - π̄_r) - (log(1-e^π̄_c) - log(1-e^π̄_r))
 *  rpo     dpo's loss + rpoAlpha * NLL(chosen) (TRL rpo_alpha, Pang et al. 2024 "Iterative Reasoning
 *          Preference Optimization"): the NLL term keeps the chosen answers' likelihood rising, which
 *          DPO alone lets fall along with the rejected ones on near-identical pairs)
 * Rewards: β(π - ref) for reference methods; β·π (summed, or mean for simpo/orpo) otherwise.
 * NLL(chosen) = -Σ π_c / Σ |y_c| (token mean over the batch, as TRL's cross-entropy on chosen labels).
 */
export function preferenceLoss(
  method: PairwiseMethod,
  x: PairLogps,
  opts: PreferenceLossOptions = {},
): PreferenceLossResult {
  const beta = opts.beta ?? 0.1;
  const B = x.policyChosenLogps.shape[0];
  const eps = asVector(opts.labelSmoothing ?? 0, B);
  const lenC = tf.maximum(x.chosenLengths, 1);
  const lenR = tf.maximum(x.rejectedLengths, 1);
  const metrics: Metrics = {};
  let losses: tf.Tensor1D;
  let chosenRewards = x.policyChosenLogps; // replaced below by each method's implicit reward
  let rejectedRewards = x.policyRejectedLogps;
  let logpsChosen: tf.Tensor1D = x.policyChosenLogps;
  let logpsRejected: tf.Tensor1D = x.policyRejectedLogps;
  let extra: tf.Scalar | null = null; // NLL term added to the mean loss

  const nll = () => tf.div(tf.neg(tf.sum(x.policyChosenLogps)), tf.sum(lenC)) as tf.Scalar;

  // Reference methods: the implicit rewards are β times the policy/reference log-ratios.
  let chosenLogratios: tf.Tensor1D | null = null;
  let rejectedLogratios: tf.Tensor1D | null = null;
  let z: tf.Tensor1D | null = null;
  if (needsReference(method)) {
    if (!x.refChosenLogps || !x.refRejectedLogps)
      throw new Error(`preferenceLoss("${method}") needs reference log-probs`);
    const clr = tf.sub(x.policyChosenLogps, x.refChosenLogps) as tf.Tensor1D;
    const rlr = tf.sub(x.policyRejectedLogps, x.refRejectedLogps) as tf.Tensor1D;
    chosenLogratios = clr;
    rejectedLogratios = rlr;
    z = tf.sub(clr, rlr) as tf.Tensor1D;
    chosenRewards = tf.mul(beta, clr) as tf.Tensor1D;
    rejectedRewards = tf.mul(beta, rlr) as tf.Tensor1D;
  }
  const nllTerm = (alpha: number) => (alpha !== 0 ? (tf.mul(alpha, nll()) as tf.Scalar) : null);
  switch (method) {
    case "dpo": // ε = 0 unless given
    case "cdpo":
      losses = smoothedSigmoid(z as tf.Tensor1D, beta, eps);
      break;
    case "rpo":
      losses = smoothedSigmoid(z as tf.Tensor1D, beta, eps);
      extra = nllTerm(opts.rpoAlpha ?? 1.0);
      break;
    case "robust": {
      const bz = tf.mul(beta, z as tf.Tensor1D);
      losses = tf.div(
        tf.add(tf.neg(tf.mul(tf.sub(1, eps), logSigmoid(bz))), tf.mul(eps, logSigmoid(tf.neg(bz)))),
        tf.sub(1, tf.mul(2, eps)),
      ) as tf.Tensor1D;
      break;
    }
    case "hinge":
      losses = tf.relu(tf.sub(1, tf.mul(beta, z as tf.Tensor1D))) as tf.Tensor1D;
      break;
    case "ipo": {
      const d = tf.sub(
        tf.div(chosenLogratios as tf.Tensor1D, lenC),
        tf.div(rejectedLogratios as tf.Tensor1D, lenR),
      );
      losses = tf.square(tf.sub(d, 1 / (2 * beta))) as tf.Tensor1D;
      break;
    }
    case "cpo":
      losses = smoothedSigmoid(tf.sub(x.policyChosenLogps, x.policyRejectedLogps), beta, eps);
      chosenRewards = tf.mul(beta, x.policyChosenLogps) as tf.Tensor1D;
      rejectedRewards = tf.mul(beta, x.policyRejectedLogps) as tf.Tensor1D;
      extra = nllTerm(opts.cpoAlpha ?? 1.0);
      break;
    case "simpo": {
      logpsChosen = tf.div(x.policyChosenLogps, lenC) as tf.Tensor1D;
      logpsRejected = tf.div(x.policyRejectedLogps, lenR) as tf.Tensor1D;
      const gamma = opts.simpoGamma ?? 0.5;
      losses = smoothedSigmoid(tf.sub(tf.sub(logpsChosen, logpsRejected), gamma / beta), beta, eps);
      chosenRewards = tf.mul(beta, logpsChosen) as tf.Tensor1D;
      rejectedRewards = tf.mul(beta, logpsRejected) as tf.Tensor1D;
      extra = nllTerm(opts.cpoAlpha ?? 0);
      break;
    }
    case "orpo": {
      logpsChosen = tf.div(x.policyChosenLogps, lenC) as tf.Tensor1D;
      logpsRejected = tf.div(x.policyRejectedLogps, lenR) as tf.Tensor1D;
      const logOdds = tf.sub(
        tf.sub(logpsChosen, logpsRejected),
        tf.sub(log1mexp(logpsChosen), log1mexp(logpsRejected)),
      );
      const ratio = logSigmoid(logOdds);
      // TRL: losses = β·ratio and loss = nll - mean(losses); we keep per-pair losses positive-is-bad.
      losses = tf.neg(tf.mul(beta, ratio)) as tf.Tensor1D;
      chosenRewards = tf.mul(beta, logpsChosen) as tf.Tensor1D;
      rejectedRewards = tf.mul(beta, logpsRejected) as tf.Tensor1D;
      extra = nll();
      metrics["log_odds_ratio"] = mean(ratio);
      metrics["log_odds_chosen"] = mean(logOdds);
      break;
    }
    default:
      throw new Error(`Unknown preference method "${String(method)}"`);
  }
  if (method === "cpo" || method === "simpo" || method === "orpo" || method === "rpo")
    metrics["nll_loss"] = nll();
  const loss = (extra ? tf.add(mean(losses), extra) : mean(losses)) as tf.Scalar;
  Object.assign(metrics, pairMetrics(chosenRewards, rejectedRewards, logpsChosen, logpsRejected));
  return { loss, losses, chosenRewards, rejectedRewards, metrics };
}

/** TRL's pairwise metrics: rewards/{chosen,rejected,margins,accuracies}, logps/{chosen,rejected}. */
export function pairMetrics(
  chosenRewards: tf.Tensor1D,
  rejectedRewards: tf.Tensor1D,
  chosenLogps: tf.Tensor1D,
  rejectedLogps: tf.Tensor1D,
): Metrics {
  return {
    "rewards/chosen": mean(chosenRewards),
    "rewards/rejected": mean(rejectedRewards),
    "rewards/margins": mean(tf.sub(chosenRewards, rejectedRewards)),
    "rewards/accuracies": mean(tf.cast(tf.greater(chosenRewards, rejectedRewards), "float32")), // strictly greater
    "logps/chosen": mean(chosenLogps),
    "logps/rejected": mean(rejectedLogps),
  };
}

// ---------------------------------------------------------------------------------------------
// KTO (TRL KTOTrainer, loss_type "kto") for unpaired thumbs-up/down data

export interface KtoInputs {
  /** Summed completion log-probs of each example under the policy / reference (N). */
  policyLogps: tf.Tensor1D;
  refLogps: tf.Tensor1D;
  /** 1 = desirable, 0 = undesirable (N). */
  labels: tf.Tensor1D;
  /** Log-probs of mismatched (prompt, other completion) pairs, for the KL estimate (M). */
  policyKlLogps: tf.Tensor1D;
  refKlLogps: tf.Tensor1D;
}

export interface KtoOptions {
  beta?: number;
  desirableWeight?: number;
  undesirableWeight?: number;
}

/**
 * KTO: z0 = max(0, mean(π_KL - ref_KL)) (no gradient); r = π - ref;
 * desirable: 1 - σ(β(r - z0)), undesirable: 1 - σ(β(z0 - r)); weighted, mean over all examples.
 * Metrics: kl, rewards/chosen, rewards/rejected, rewards/margins, logps/chosen, logps/rejected.
 */
export function ktoLoss(
  x: KtoInputs,
  opts: KtoOptions = {},
): { loss: tf.Scalar; losses: tf.Tensor1D; metrics: Metrics } {
  const beta = opts.beta ?? 0.1;
  const wD = opts.desirableWeight ?? 1;
  const wU = opts.undesirableWeight ?? 1;
  const kl = stopGradient(tf.maximum(mean(tf.sub(x.policyKlLogps, x.refKlLogps)), 0) as tf.Scalar);
  const r = tf.sub(x.policyLogps, x.refLogps);
  const des = x.labels;
  const und = tf.sub(1, des);
  const desLoss = tf.sub(1, tf.sigmoid(tf.mul(beta, tf.sub(r, kl))));
  const undLoss = tf.sub(1, tf.sigmoid(tf.mul(beta, tf.sub(kl, r))));
  const losses = tf.add(tf.mul(tf.mul(wD, desLoss), des), tf.mul(tf.mul(wU, undLoss), und)) as tf.Tensor1D;
  const rewards = tf.mul(beta, r);
  const rc = maskedMean(rewards, des);
  const rr = maskedMean(rewards, und);
  return {
    loss: mean(losses),
    losses,
    metrics: {
      kl,
      "rewards/chosen": rc,
      "rewards/rejected": rr,
      "rewards/margins": tf.sub(rc, rr) as tf.Scalar,
      "logps/chosen": maskedMean(x.policyLogps, des),
      "logps/rejected": maskedMean(x.policyLogps, und),
    },
  };
}

/** Reads metric tensors into numbers. This is a device->host sync point: call it at log intervals. */
export async function readMetrics(m: Metrics): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const entries = Object.entries(m);
  const values = await Promise.all(entries.map(([, t]) => t.data()));
  entries.forEach(([k], i) => (out[k] = (values[i] as ArrayLike<number>)[0] as number));
  return out;
}
