// The record splitter (JSON Lines, JSON arrays, gzip) at every chunk boundary, and row formats.
import zlib from "node:zlib";
import { describe, expect, test } from "vitest";
import { readRecords, type RawRecord } from "@/server/data/import/reader";
import { parseHHTranscript, parseRow, renderHHTranscript, RowError } from "@/server/data/import/formats";
import { comparisonHash, promptHash } from "@/server/data/hash";

async function records(bytes: Buffer, chunk: number, max = 1 << 20): Promise<RawRecord[]> {
  async function* src() {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
  }
  const out: RawRecord[] = [];
  for await (const r of readRecords(src(), { maxRecordBytes: max })) out.push(r);
  return out;
}

describe("readRecords", () => {
  const objs = [
    { prompt: "a, [b] {c}" },
    { prompt: 'quote " and \\ backslash ]' },
    { prompt: "ünï 🚀\nnewline" },
  ];

  test("JSON Lines: CRLF, BOM, blank lines, line numbers, at every chunk size", async () => {
    const text =
      "\ufeff" +
      JSON.stringify(objs[0]) +
      "\r\n\r\n" +
      JSON.stringify(objs[1]) +
      "\n" +
      JSON.stringify(objs[2]);
    for (const chunk of [1, 2, 3, 7, 64, 1 << 20]) {
      const r = await records(Buffer.from(text), chunk);
      expect(r).toEqual([
        { line: 1, text: JSON.stringify(objs[0]) },
        { line: 3, text: JSON.stringify(objs[1]) },
        { line: 4, text: JSON.stringify(objs[2]) },
      ]);
    }
  });

  test("a JSON array: elements with brackets and quotes inside strings, at every chunk size", async () => {
    const text = `[\n  ${JSON.stringify(objs[0])},\n  ${JSON.stringify(objs[1])} ,${JSON.stringify(objs[2])}\n]\n`;
    for (const chunk of [1, 2, 5, 13, 1 << 20]) {
      const r = await records(Buffer.from(text), chunk);
      expect(r.map((x) => ("text" in x ? JSON.parse(x.text) : x))).toEqual(objs);
      expect(r.map((x) => x.line)).toEqual([2, 3, 3]);
    }
    expect(await records(Buffer.from('[1, "two", null]'), 1)).toEqual([
      { line: 1, text: "1" },
      { line: 1, text: '"two"' },
      { line: 1, text: "null" },
    ]);
    expect(await records(Buffer.from("[]"), 1)).toEqual([]);
  });

  test("array problems: truncated, trailing content, empty elements", async () => {
    expect((await records(Buffer.from('[{"a": 1}, {"b": "x'), 3)).pop()).toMatchObject({
      fatal: true,
      error: expect.stringMatching(/ends inside array element 2/),
    });
    expect((await records(Buffer.from('[{"a": 1}'), 3)).pop()).toMatchObject({
      fatal: true,
      error: expect.stringMatching(/before the JSON array's closing \]/),
    });
    expect((await records(Buffer.from('[{"a": 1}] {"b": 2}'), 4)).pop()).toMatchObject({
      fatal: true,
      error: expect.stringMatching(/more content after the closing \]/),
    });
    expect(
      (await records(Buffer.from('[{"a": 1},,{"b": 2}]'), 4)).map((r) => ("error" in r ? "error" : "ok")),
    ).toEqual(["ok", "error", "ok"]);
  });

  test("gzip is decompressed; an oversized record is skipped with its size; invalid UTF-8 is reported", async () => {
    const lines = objs.map((o) => JSON.stringify(o)).join("\n");
    expect((await records(zlib.gzipSync(Buffer.from(lines)), 5)).map((r) => r.line)).toEqual([1, 2, 3]);
    const big = `{"prompt": "${"x".repeat(5000)}"}\n{"prompt": "ok"}\n`;
    const r = await records(Buffer.from(big), 100, 1000);
    expect(r[0]).toEqual({
      line: 1,
      error: "line is 0.0 MB, longer than the longest accepted record (0.0 MB); it was skipped",
    });
    expect(r[1]).toEqual({ line: 2, text: '{"prompt": "ok"}' });
    const bad = Buffer.concat([Buffer.from('{"prompt": "'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')]);
    expect(await records(bad, 4)).toEqual([{ line: 1, error: "line is not valid UTF-8 text" }]);
  });
});

describe("row formats", () => {
  const opts = { maxTextChars: 1000 };

  test("HH transcripts parse into turns and render back byte for byte", () => {
    const s =
      "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHow can I help?\n\nHuman: A joke\n\nAssistant: No.";
    const turns = parseHHTranscript(s, "chosen");
    expect(turns).toEqual([
      { role: "user", content: "Hi there" },
      { role: "assistant", content: "Hello!\n\nHow can I help?" },
      { role: "user", content: "A joke" },
      { role: "assistant", content: "No." },
    ]);
    expect(renderHHTranscript(turns)).toBe(s);
    expect(() => parseHHTranscript("Human: no leading newlines", "chosen")).toThrow(RowError);
  });

  test("an HH row whose sides differ before the last answer is refused", () => {
    expect(() =>
      parseRow(
        { chosen: "\n\nHuman: a\n\nAssistant: b", rejected: "\n\nHuman: DIFFERENT\n\nAssistant: c" },
        opts,
      ),
    ).toThrow(/share the same conversation/);
    const row = parseRow(
      { chosen: "\n\nHuman: a\n\nAssistant: b", rejected: "\n\nHuman: a\n\nAssistant: c" },
      opts,
    );
    expect(row).toMatchObject({
      kind: "comparison",
      format: "hh",
      prompt: { messages: [{ role: "user", content: "a" }] },
    });
  });

  test("mistyped fields, NUL characters, unpaired surrogates and ranking indices are refused", () => {
    expect(() => parseRow({ prompt: "p", chosen: ["x"], rejected: "y" }, opts)).toThrow(
      /with a string prompt, chosen and rejected must be strings/,
    );
    expect(() => parseRow({ prompt: "p", chosen: "a\u0000b", rejected: "y" }, opts)).toThrow(/NUL character/);
    expect(() => parseRow({ prompt: "p\ud800", chosen: "a", rejected: "y" }, opts)).toThrow(
      /unpaired UTF-16 surrogate/,
    );
    expect(() => parseRow({ prompt: "p", completions: ["a", "b"], ranking: [0, 0] }, opts)).toThrow(/twice/);
    expect(() => parseRow({ prompt: "p", completions: ["a"] }, opts)).toThrow(/2 to 16 completions/);
    expect(() => parseRow({ prompt: "p", chosen: "a", rejected: "b", margin: "big" }, opts)).toThrow(
      /margin must be a number/,
    );
    expect(
      parseRow(
        {
          messages: [
            { role: "user", content: "q" },
            { role: "assistant", content: "a" },
          ],
        },
        opts,
      ),
    ).toMatchObject({ kind: "completion", completion: { text: "a" } });
  });

  test("content hashes: order of completions does not matter, prompt kinds differ", () => {
    expect(comparisonHash("p", ["a", "b"])).toBe(comparisonHash("p", ["b", "a"]));
    expect(promptHash({ text: "hi" })).not.toBe(promptHash({ messages: [{ role: "user", content: "hi" }] }));
  });
});
