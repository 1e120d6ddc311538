/**
 * Pure statistics for Pairwise: inter-rater agreement, Bradley–Terry
 * (Chatbot-Arena-style) ratings, annotator bias figures and small helpers.
 * No I/O, no database, safe on server and client.
 */
export {
  mean,
  median,
  percentile,
  quantile,
  quantileSorted,
  wilsonInterval,
  type ProportionInterval,
} from "./descriptive";
export { createRng, randomInt, type Rng } from "./rng";
export {
  alphaFromCoincidences,
  coincidenceMatrix,
  coincidenceMatrixFromCounts,
  krippendorffAlpha,
  raterMatrixToUnits,
  type AlphaMetric,
  type CoincidenceMatrix,
  type KrippendorffAlphaResult,
  type UnitRatings,
} from "./krippendorff";
export {
  categoryCounts,
  cohenKappa,
  cohenKappaFromLabels,
  contingencyTable,
  fleissKappa,
  fleissKappaFromCounts,
  verdictAgreement,
  type CohenKappaResult,
  type FleissKappaResult,
  type PairwiseVerdict,
  type VerdictAgreement,
  type VerdictPair,
} from "./kappa";
export {
  bradleyTerryLeaderboard,
  bradleyTerryLeaderboardFromCounts,
  fitBradleyTerry,
  ranksFromIntervals,
  winProbability,
  type Battle,
  type BattleCount,
  type BattleWinner,
  type BradleyTerryFit,
  type BradleyTerryOptions,
  type BradleyTerryRating,
  type Leaderboard,
  type LeaderboardOptions,
  type LeaderboardRow,
  type ScoreInterval,
} from "./bradley-terry";
export {
  lengthBias,
  positionBias,
  swapInconsistency,
  unswap,
  type BiasRate,
  type LengthBias,
  type LengthVote,
  type PositionBias,
  type PositionVote,
  type PositionalVerdict,
  type SwapInconsistency,
  type SwapPair,
} from "./bias";
