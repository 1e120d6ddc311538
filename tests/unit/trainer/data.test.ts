import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import {
  BpeTokenizer,
  makeBatch,
  promptCompletionSequence,
  selectBackend,
  sftSequence,
  splitIndices,
  microBatchIndices,
} from "../../../trainer/index";

const tok = BpeTokenizer.bytesOnly();
beforeAll(async () => {
  await selectBackend({ force: "cpu", log: () => {} });
});

describe("data", () => {
  it("masks the prompt and keeps the completion when truncating", () => {
    const s = promptCompletionSequence(tok, "a long prompt here", "ok", 8);
    expect(s.ids.length).toBe(8);
    expect(s.ids[0]).toBe(tok.bosId);
    expect(tok.decode(s.ids.filter((_, i) => s.lossMask[i] === 1))).toBe("ok<|endoftext|>");
    const chat = promptCompletionSequence(tok, [{ role: "user", content: "hi" }], "yo", 100);
    expect(tok.decode(chat.ids)).toBe("<|endoftext|><|user|>hi<|end|><|assistant|>yo<|end|>");
    expect(tok.decode(chat.ids.filter((_, i) => chat.lossMask[i] === 1))).toBe("yo<|end|>");
  });

  it("shifts, pads to a multiple, and never past maxT", () => {
    const a = sftSequence(tok, "abc", 100); // BOS a b c EOS
    const b = sftSequence(tok, "a", 100);
    const batch = makeBatch([a, b], tok.padId, 8, 6);
    expect([batch.B, batch.T]).toEqual([2, 6]);
    expect(Array.from(batch.inputs.dataSync().slice(0, 4))).toEqual(a.ids.slice(0, 4));
    expect(Array.from(batch.targets.dataSync().slice(0, 4))).toEqual(a.ids.slice(1, 5));
    expect(Array.from(batch.mask.dataSync().slice(6, 12))).toEqual([1, 1, 0, 0, 0, 0]);
    expect(batch.counts).toEqual([4, 2]);
    tf.dispose([batch.inputs, batch.targets, batch.mask]);
    expect(makeBatch([a], tok.padId, 8).T).toBe(8);
  });

  it("orders data from the seed: a permutation per epoch, reproducible", () => {
    const k0 = microBatchIndices(0, 10, 4, 1);
    expect(microBatchIndices(0, 10, 4, 1)).toEqual(k0);
    const epoch = [0, 1, 2, 3, 4].flatMap((k) => microBatchIndices(k, 10, 4, 1)).slice(0, 10);
    expect([...epoch].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(microBatchIndices(0, 10, 4, 2)).not.toEqual(k0);
    const split = splitIndices(20, 0.25, 3);
    expect(split.eval.length).toBe(5);
    expect(new Set([...split.train, ...split.eval]).size).toBe(20);
  });
});
