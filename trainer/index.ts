// Public API of the Pairwise trainer: a library of pure functions over tokens, arrays and tensors.
// No database, no HTTP: the trainer service in server/ calls these. See trainer/README.md.

// backends
export { selectBackend, activeBackend, ensureKernels } from "./backend.js";
export type { BackendName, BackendInfo, SelectBackendOptions } from "./backend.js";

// tokenizer
export { BpeTokenizer, SPECIAL_TOKENS, DEFAULT_PATTERN } from "./tokenizer.js";
export type { ChatMessage, ChatRole, SpecialToken, TokenizerJSON, AllowedSpecial } from "./tokenizer.js";

// configuration
export { PRESETS, countParams, parseModelConfig, parseTrainConfig, ModelConfigSchema, TrainConfigSchema } from "./config.js";
export type { ModelConfig, ModelConfigInput, PresetName, TrainConfig, TrainConfigInput } from "./config.js";

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
} from "./model.js";
export type { GPTModel, ModelKind, KVCache } from "./model.js";

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
} from "./data.js";
export type { SftExample, PreferencePair, UnpairedExample, TokenSequence, Batch } from "./data.js";

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
} from "./losses.js";
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
} from "./losses.js";

// optimisation
export { AdamW, learningRate, clipByGlobalNorm } from "./optim.js";
export type { AdamWOptions } from "./optim.js";

// training loops
export { trainSFT, trainRewardModel, trainPreference } from "./train.js";
export type { SftOptions, RewardModelOptions, PreferenceOptions } from "./train.js";
export { runTraining, microBatchIndices, splitIndices } from "./loop.js";
export type { StepMetrics, TrainResult, LoopHooks, LoopName } from "./loop.js";

// reference log-prob cache
export { RefLogpCache } from "./refcache.js";
export type { RefLogps, RefLogpCacheJSON } from "./refcache.js";

// checkpoints
export { saveCheckpoint, loadCheckpoint, readCheckpointMeta, hfConfig, CHECKPOINT_FILES } from "./checkpoint.js";
export type { SaveCheckpointOptions, LoadedCheckpoint, CheckpointMeta } from "./checkpoint.js";
export { encodeSafetensors, decodeSafetensors } from "./safetensors.js";

// inference
export { generate, generateStream, sampleFromLogits, sequenceLogProb, completionLogProbs, scoreRewards } from "./generate.js";
export type { SamplingOptions, GenerateResult } from "./generate.js";

// built-in task
export * as miniR1 from "./miniR1.js";
export { evaluateMiniR1 } from "./evaluate.js";
export type { MiniR1Eval } from "./evaluate.js";

// seeded randomness
export { Rng, mixSeed, permutation } from "./rng.js";
