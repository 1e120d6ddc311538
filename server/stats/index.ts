/**
 * Pure statistics for Pairwise: inter-rater agreement, Bradley–Terry
 * (Chatbot-Arena-style) ratings, annotator bias figures and small helpers.
 * No I/O, no database, safe on server and client.
 */
export { mean, median, percentile, quantile, quantileSorted, wilsonInterval, type ProportionInterval } from "./descriptive";
export { createRng, randomInt, type Rng } from "./rng";
