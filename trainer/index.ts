// Public API of the Pairwise trainer: a library of pure functions over tokens, arrays and tensors.
// No database, no HTTP: the trainer service in server/ calls these. See trainer/README.md.

// backends
export { selectBackend, activeBackend, ensureKernels } from "./backend";
export type { BackendName, BackendInfo, SelectBackendOptions } from "./backend";

// tokenizer
export { BpeTokenizer, SPECIAL_TOKENS, DEFAULT_PATTERN } from "./tokenizer";
export type { ChatMessage, ChatRole, SpecialToken, TokenizerJSON, AllowedSpecial } from "./tokenizer";

// configuration
export {
  PRESETS,
  countParams,
  parseModelConfig,
  parseTrainConfig,
  ModelConfigSchema,
  TrainConfigSchema,
} from "./config";
export type { ModelConfig, ModelConfigInput, PresetName, TrainConfig, TrainConfigInput } from "./config";

// models
export {
  createPolicy,
  createRewardModel,
  cloneModel,
  disposeModel,
  numParams,
  parameterShapes,
  forwardHidden,
  forwardLogits,
  lmHead,
  tokenLogProbs,
  rewardScores,
} from "./model";
export type { GPTModel, ModelKind, KVCache } from "./model";

// data
export {
  sftSequence,
  promptCompletionSequence,
  encodePrompt,
  encodeCompletion,
  makeBatch,
  makeScoreBatch,
  disposeBatch,
  pairKey,
  contentKey,
} from "./data";
export type { SftExample, PreferencePair, UnpairedExample, TokenSequence, Batch } from "./data";

// losses (one module, TRL definitions and metric names)
export {
  lmLoss,
  sequenceLogpsFromTokens,
  rewardModelLoss,
  preferenceLoss,
  ktoLoss,
  pairMetrics,
  needsReference,
  log1mexp,
  logSigmoid,
  stopGradient,
  readMetrics,
  PAIRWISE_METHODS,
} from "./losses";
export type {
  Metrics,
  PairwiseMethod,
  PreferenceMethod,
  PairLogps,
  PreferenceLossOptions,
  PreferenceLossResult,
  RewardLossOptions,
  KtoInputs,
  KtoOptions,
} from "./losses";

// optimisation
export { AdamW, learningRate, clipByGlobalNorm } from "./optim";
export type { AdamWOptions } from "./optim";

// training loops
export { trainSFT, trainRewardModel, trainPreference } from "./train";
export type { SftOptions, RewardModelOptions, PreferenceOptions } from "./train";
export { runTraining, microBatchIndices, splitIndices } from "./loop";
export type { StepMetrics, TrainResult, LoopHooks, LoopName } from "./loop";

// reference log-prob cache
export { RefLogpCache } from "./refcache";
export type { RefLogps, RefLogpCacheJSON } from "./refcache";

// checkpoints
export { saveCheckpoint, loadCheckpoint, readCheckpointMeta, hfConfig, CHECKPOINT_FILES } from "./checkpoint";
export type { SaveCheckpointOptions, LoadedCheckpoint, CheckpointMeta } from "./checkpoint";
export { encodeSafetensors, decodeSafetensors } from "./safetensors";

// Hugging Face model folders (GPT-2, Llama, Qwen2): load, describe, tokenizers and chat templates
export { loadHfModel, describeModel, describeModelFolder, readHfModelConfig } from "./hf/model";
export type { LoadedHfModel, ModelInfo } from "./hf/model";
export { parseHfConfig, hfArchitecture } from "./hf/config";
export type { HfArch } from "./hf/config";
export { HfTokenizer, saveTokenizerFiles, loadTokenizerFromFolder } from "./hf/tokenizer";
export { readHfWeights, writeSafetensors } from "./hf/weights";
export type { WeightDtype } from "./hf/weights";
export { exportModel } from "./hf/export";

// inference
export {
  generate,
  generateBatch,
  generateStream,
  sampleFromLogits,
  sampleSoftmax,
  sequenceLogProb,
  completionLogProbs,
  scoreRewards,
} from "./generate";
export type { SamplingOptions, BatchSamplingOptions, GenerateResult } from "./generate";

// built-in task
export * as miniR1 from "./miniR1";
export { evaluateMiniR1 } from "./evaluate";
export type { MiniR1Eval } from "./evaluate";

// seeded randomness
export { Rng, mixSeed, permutation } from "./rng";

// GRPO (TRL GRPOTrainer definitions), reward functions and environments
export {
  trainGRPO,
  grpoLoss,
  groupAdvantages,
  unbiasedStd,
  sampleGroup,
  GRPO_LOSS_TYPES,
  SCALE_REWARDS,
} from "./grpo";
export type {
  GrpoOptions,
  GrpoPrompt,
  GrpoRollout,
  GrpoLossInputs,
  GrpoLossOptions,
  GrpoLossType,
  ScaleRewards,
  GroupSample,
} from "./grpo";
export {
  combineRewards,
  correctnessReward,
  formatReward,
  lengthPenalty,
  rewardModelReward,
  judgeReward,
  thinkFormatOk,
} from "./rewards";
export type { CheckResult, RewardInput, RewardFn, BatchRewardFn, NamedReward } from "./rewards";
export * as envs from "./envs/index";
export {
  ENVIRONMENTS,
  ENVIRONMENT_NAMES,
  getEnvironment,
  grpoPrompts,
  envJudgeScore,
  evaluateEnvironment,
  miniR1Env,
  sortingEnv,
  codeEnv,
  ticTacToeEnv,
} from "./envs/index";
export type { Environment, EnvEval, GameResult, PolicyFn } from "./envs/index";
