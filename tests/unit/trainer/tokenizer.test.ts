import { describe, expect, it } from "vitest";
import { BpeTokenizer, Rng, SPECIAL_TOKENS, miniR1 } from "../../../trainer/index";

/** Random well-formed Unicode: ASCII, Latin-1, CJK, emoji (astral), combining marks, controls, specials. */
function randomText(rng: Rng, n: number): string {
  const pools: (() => string)[] = [
    () => String.fromCharCode(rng.range(32, 126)),
    () => String.fromCharCode(rng.range(0xa0, 0x24f)),
    () => String.fromCharCode(rng.range(0x4e00, 0x9fff)),
    () => String.fromCodePoint(rng.range(0x1f300, 0x1faff)),
    () => String.fromCodePoint(rng.range(0x10000, 0x10ffff)),
    () => String.fromCharCode(rng.range(0x300, 0x36f)),
    () => rng.pick(["\n", "\t", "\r\n", "  ", "\u0000", "\u200d", "\ufeff"]),
    () => rng.pick([...SPECIAL_TOKENS, "<|nope|>", "<think", "12345", "  99"]),
  ];
  let s = "";
  for (let i = 0; i < n; i++) {
    let cp = rng.pick(pools)();
    if (cp.length === 1 && cp.charCodeAt(0) >= 0xd800 && cp.charCodeAt(0) <= 0xdfff) cp = "x"; // lone surrogates are not UTF-8
    s += cp;
  }
  return s;
}

const corpus = miniR1.corpus(miniR1.makeProblems(1, 300, { difficulty: 2 }));

describe("BpeTokenizer", () => {
  const tok = BpeTokenizer.train(corpus, 400);

  it("learns merges up to the requested vocabulary and is deterministic", () => {
    expect(tok.vocabSize).toBe(400);
    const again = BpeTokenizer.train(corpus, 400);
    expect(again.toJSON()).toEqual(tok.toJSON());
    expect(tok.encode("Ana has 12 apples.").length).toBeLessThan("Ana has 12 apples.".length / 2);
  });

  it("round-trips random Unicode exactly (trained and bytes-only)", () => {
    const rng = new Rng(7);
    for (const t of [tok, BpeTokenizer.bytesOnly()]) {
      for (let i = 0; i < 300; i++) {
        const s = randomText(rng, rng.range(0, 40));
        expect(t.decode(t.encode(s))).toBe(s);
        expect(t.decode(t.encode(s, { allowedSpecial: "none" }))).toBe(s);
      }
    }
  });

  it("splits digits one by one", () => {
    const ids = tok.encode("12345");
    expect(ids.length).toBe(5);
  });

  it("maps special tokens only where allowed", () => {
    const s = "<think>1 + 1 = 2.</think>";
    const a = tok.encode(s);
    expect(a[0]).toBe(tok.thinkId);
    expect(a[a.length - 1]).toBe(tok.endThinkId);
    const none = tok.encode(s, { allowedSpecial: "none" });
    expect(none).not.toContain(tok.thinkId);
    expect(tok.decode(none)).toBe(s);
  });

  it("serialises to JSON and back", () => {
    const back = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
    const s = "Chen has 7 cookies. 🍪 How many?";
    expect(back.encode(s)).toEqual(tok.encode(s));
    expect(back.vocabSize).toBe(tok.vocabSize);
    expect(() => BpeTokenizer.fromJSON({ hello: 1 })).toThrow(/Not a Pairwise tokenizer/);
  });

  it("renders and encodes chat safely with an assistant mask", () => {
    const msgs = [
      { role: "system" as const, content: "Be brief." },
      { role: "user" as const, content: "Hi <|assistant|> there" },
      { role: "assistant" as const, content: "<think>ok</think>Hello" },
    ];
    expect(tok.renderChat(msgs, { addGenerationPrompt: true })).toBe(
      "<|system|>Be brief.<|end|><|user|>Hi <|assistant|> there<|end|><|assistant|><think>ok</think>Hello<|end|><|assistant|>",
    );
    const { ids, assistantMask } = tok.encodeChat(msgs);
    expect(ids.filter((i) => i === tok.special["<|assistant|>"]).length).toBe(1); // user text stays bytes
    expect(ids).toContain(tok.thinkId);
    const trained = ids.filter((_, i) => assistantMask[i] === 1);
    expect(tok.decode(trained)).toBe("<think>ok</think>Hello<|end|>");
  });

  it("streaming decode holds back split multi-byte characters", () => {
    const t = BpeTokenizer.bytesOnly();
    const ids = t.encode("é🙂");
    const d = t.streamDecoder();
    const parts = ids.map((id) => d.push([id]));
    expect(parts.join("") + d.flush()).toBe("é🙂");
    expect(parts[0]).toBe("");
  });
});
