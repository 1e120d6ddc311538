// What Pairwise computes for a saved folder, written beside its files as pairwise-expected.json:
// token ids of a few texts, the rendered chat template, and logits (or reward scores at the last
// non-padding token). scripts/hf-verify.py loads the folder with transformers alone and compares.
import * as tf from "@tensorflow/tfjs";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { type BpeTokenizer, forwardLogits, type GPTModel, rewardScores } from "../trainer/index";
import { describeModel } from "../trainer/hf/model";

const TEXTS = [
  "Hello world! café 🤗 12345",
  "def f(x):\n    return x  # ok",
  "<|im_start|>user\nhi<|im_end|>",
];
const CHAT = [
  { role: "system" as const, content: "Be brief." },
  { role: "user" as const, content: "Name a colour." },
];
export async function record(
  dir: string,
  model: GPTModel,
  tok: BpeTokenizer,
  allRows: boolean,
): Promise<void> {
  const body = [...tok.encode("The reward model prefers the chosen completion, café 🤗")].slice(0, 14);
  const ids = [...tok.textPrefixIds, ...body];
  const rec: Record<string, unknown> = {
    kind: model.kind,
    info: describeModel(model),
    texts: TEXTS.map((text) => ({ text, ids: tok.encode(text) })),
  };
  try {
    rec["chat"] = {
      messages: CHAT,
      text: tok.renderChat(CHAT, { addGenerationPrompt: true }),
      ids: tok.encodeChat(CHAT, { addGenerationPrompt: true }).ids,
    };
  } catch (e) {
    rec["chat_error"] = String(e);
  }
  if (model.kind === "policy") {
    const t = tf.tidy(() => forwardLogits(model, tf.tensor2d([ids], [1, ids.length], "int32")));
    const all = ((await t.array()) as number[][][])[0] as number[][];
    t.dispose();
    const rows = allRows ? all.map((_, i) => i) : [0, all.length - 1];
    rec["logits"] = { ids, rows, values: rows.map((r) => all[r]) };
  } else {
    const a = ids;
    const b = ids.slice(0, 6);
    const T = a.length;
    const batch = [a, [...b, ...new Array<number>(T - b.length).fill(tok.padId)]];
    const last = [a.length - 1, b.length - 1];
    const t = tf.tidy(() =>
      rewardScores(model, tf.tensor2d(batch, [2, T], "int32"), tf.tensor1d(last, "int32")),
    );
    rec["reward"] = { input_ids: batch, lengths: [a.length, b.length], scores: Array.from(await t.data()) };
    t.dispose();
  }
  writeFileSync(path.join(dir, "pairwise-expected.json"), JSON.stringify(rec));
}
