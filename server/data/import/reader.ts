// Splits an import's byte stream into records, with memory bounded by the longest accepted record:
//  - JSON Lines: one record per line ("\n" or "\r\n"); blank lines are skipped;
//  - a JSON array ("[" first): one record per top-level element, found by a small scanner that
//    tracks strings and nesting, so the array is never parsed (or held) whole;
//  - gzip input (magic 1f 8b) is decompressed on the fly.
// A record longer than `maxRecordBytes` is skipped while it streams past (its bytes are not kept)
// and reported with its length. Files that are not text (NUL bytes, UTF-16) are refused up front.
import { Readable } from "node:stream";
import zlib from "node:zlib";

export type RawRecord = { line: number; text: string } | { line: number; error: string; fatal?: boolean };

export interface ReadOptions {
  maxRecordBytes: number;
  /** Bytes of the input (before decompression) consumed so far. */
  onBytes?: (bytesDone: number) => void;
}

export type ByteSource = AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

function toAsyncIterable(source: ByteSource): AsyncIterable<Uint8Array> {
  if (
    typeof (source as ReadableStream<Uint8Array>).getReader === "function" &&
    !(Symbol.asyncIterator in source)
  ) {
    return Readable.fromWeb(source as import("node:stream/web").ReadableStream<Uint8Array>);
  }
  return source as AsyncIterable<Uint8Array>;
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
const decoder = new TextDecoder("utf-8", { fatal: true });

function decode(parts: Buffer[], total: number): string | null {
  const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
  try {
    return decoder.decode(buf);
  } catch {
    return null;
  }
}

async function* countBytes(
  source: AsyncIterable<Uint8Array>,
  onBytes?: (n: number) => void,
): AsyncGenerator<Buffer> {
  let done = 0;
  for await (const chunk of source) {
    done += chunk.byteLength;
    onBytes?.(done);
    yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}

/** Peek the first bytes to choose: gzip, JSON array, JSON Lines, or refuse a binary file. */
export async function* readRecords(source: ByteSource, opts: ReadOptions): AsyncGenerator<RawRecord> {
  const it = countBytes(toAsyncIterable(source), opts.onBytes)[Symbol.asyncIterator]();
  let first = await it.next();
  while (!first.done && first.value.length === 0) first = await it.next();
  if (first.done) return;
  let head = first.value;
  const rest: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => it };
  let body: AsyncIterable<Buffer> = (async function* () {
    yield head;
    yield* rest;
  })();
  if (head[0] === 0x1f && head[1] === 0x8b) {
    body = Readable.from(body).pipe(zlib.createGunzip());
    const inner = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    let f = await inner.next();
    while (!f.done && f.value.length === 0) f = await inner.next();
    if (f.done) return;
    head = f.value;
    const innerRest: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => inner };
    body = (async function* () {
      yield head;
      yield* innerRest;
    })();
  }
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) {
    yield { line: 1, error: "the file is UTF-16 text; save it as UTF-8 and import it again", fatal: true };
    return;
  }
  const sniff = head.subarray(0, 4096);
  if (sniff.includes(0)) {
    const zip = head[0] === 0x50 && head[1] === 0x4b;
    yield {
      line: 1,
      error: zip
        ? "the file is a ZIP archive, not JSON: unzip it and import the .jsonl or .json file inside"
        : "the file is binary, not JSON: expected JSON Lines (one JSON object per line) or a JSON array of objects",
      fatal: true,
    };
    return;
  }
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0; // UTF-8 BOM
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d))
    i++;
  if (head[i] === 0x5b /* [ */) yield* arrayRecords(body, opts.maxRecordBytes);
  else yield* lineRecords(body, opts.maxRecordBytes);
}

async function* lineRecords(body: AsyncIterable<Buffer>, max: number): AsyncGenerator<RawRecord> {
  let parts: Buffer[] = [];
  let size = 0; // bytes of the current line seen so far (kept or not)
  let line = 1;
  let firstChunk = true;
  const finish = function* (): Generator<RawRecord> {
    if (size > max) {
      yield {
        line,
        error: `line is ${mb(size)}, longer than the longest accepted record (${mb(max)}); it was skipped`,
      };
    } else if (size > 0) {
      let total = size;
      if (parts.length) {
        const last = parts[parts.length - 1]!;
        if (last[last.length - 1] === 0x0d) {
          parts[parts.length - 1] = last.subarray(0, last.length - 1);
          total--;
        }
      }
      const text = decode(parts, total);
      if (text === null) yield { line, error: "line is not valid UTF-8 text" };
      else if (text.trim() !== "") yield { line, text };
    }
    parts = [];
    size = 0;
    line++;
  };
  for await (let chunk of body) {
    if (firstChunk) {
      firstChunk = false;
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
    }
    let pos = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, pos);
      const end = nl < 0 ? chunk.length : nl;
      if (end > pos) {
        size += end - pos;
        if (size <= max) parts.push(chunk.subarray(pos, end));
        else parts = [];
      }
      if (nl < 0) break;
      yield* finish();
      pos = nl + 1;
    }
  }
  yield* finish();
}

async function* arrayRecords(body: AsyncIterable<Buffer>, max: number): AsyncGenerator<RawRecord> {
  // States: before "[", inside the array between elements, inside an element, after "]".
  let state: "start" | "between" | "element" | "after" = "start";
  let depth = 0; // nesting inside the current element
  let inString = false;
  let escape = false;
  let line = 1;
  let elementLine = 1;
  let parts: Buffer[] = [];
  let size = 0;
  let expectValue = true; // between elements: a value may start (false right after an element, until ",")
  let elementStart = -1;
  let elements = 0;
  const emit = (chunk: Buffer, end: number): RawRecord => {
    if (elementStart >= 0 && end > elementStart) {
      size += end - elementStart;
      if (size <= max) parts.push(chunk.subarray(elementStart, end));
    }
    elementStart = -1;
    elements++;
    const rec: RawRecord =
      size > max
        ? {
            line: elementLine,
            error: `array element ${elements} is ${mb(size)}, longer than the longest accepted record (${mb(max)}); it was skipped`,
          }
        : (() => {
            const text = decode(parts, size);
            return text === null
              ? { line: elementLine, error: "element is not valid UTF-8 text" }
              : { line: elementLine, text };
          })();
    parts = [];
    size = 0;
    return rec;
  };
  for await (const chunk of body) {
    if (state === "element") elementStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === 0x0a) line++;
      if (state === "element") {
        if (inString) {
          if (escape) escape = false;
          else if (b === 0x5c) escape = true;
          else if (b === 0x22) inString = false;
          continue;
        }
        if (b === 0x22) inString = true;
        else if (b === 0x7b || b === 0x5b) depth++;
        else if (b === 0x7d || b === 0x5d) {
          if (depth === 0) {
            // "]" closing the array right after a scalar element
            yield emit(chunk, i);
            state = "after";
            continue;
          }
          depth--;
          if (depth === 0) {
            yield emit(chunk, i + 1);
            state = "between";
            expectValue = false;
          }
        } else if (b === 0x2c && depth === 0) {
          yield emit(chunk, i);
          state = "between";
          expectValue = true;
        }
        continue;
      }
      if (
        b === 0x20 ||
        b === 0x09 ||
        b === 0x0a ||
        b === 0x0d ||
        (state === "start" && (b === 0xef || b === 0xbb || b === 0xbf))
      )
        continue;
      if (state === "start") {
        state = "between"; // the "["
        continue;
      }
      if (state === "after") {
        yield { line, error: "there is more content after the closing ] of the JSON array", fatal: true };
        return;
      }
      // between elements
      if (b === 0x5d) {
        state = "after";
        continue;
      }
      if (b === 0x2c) {
        if (expectValue) yield { line, error: "empty element in the JSON array (two commas in a row)" };
        expectValue = true;
        continue;
      }
      if (!expectValue) {
        yield { line, error: "expected , or ] between array elements", fatal: true };
        return;
      }
      state = "element";
      elementLine = line;
      elementStart = i;
      depth = 0;
      inString = false;
      escape = false;
      if (b === 0x22) inString = true;
      else if (b === 0x7b || b === 0x5b) depth = 1;
    }
    if (state === "element" && elementStart >= 0) {
      size += chunk.length - elementStart;
      if (size <= max) parts.push(chunk.subarray(elementStart));
      else parts = [];
      elementStart = -1;
    }
  }
  const end = state as string; // (TypeScript cannot follow the state through the loop)
  if (end === "element") {
    yield {
      line: elementLine,
      error: `the file ends inside array element ${elements + 1} (starting on line ${elementLine}): it looks truncated; the elements before it were read`,
      fatal: true,
    };
  } else if (end !== "after") {
    yield {
      line,
      error:
        "the file ends before the JSON array's closing ]: it looks truncated; the elements before the end were read",
      fatal: true,
    };
  }
}
