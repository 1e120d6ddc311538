// Byte-level BPE tokenizer (GPT-2 style), trainable on a corpus, saved as JSON with a checkpoint.
//
// ids 0..255 are the raw bytes, then the special tokens, then one id per learned merge (in rank
// order). Any UTF-8 text round-trips exactly: encoding works on the text's UTF-8 bytes and every
// byte has a token. Text is first split by a pre-tokenizer regex (GPT-2's, with digits split one
// by one, which helps arithmetic), merges never cross those pieces.
//
// Special tokens mark chat roles and reasoning: <|endoftext|> (BOS/EOS), <|pad|>, <|system|>,
// <|user|>, <|assistant|>, <|end|> (end of a chat turn), <think>, </think>.

export const SPECIAL_TOKENS = [
  "<|endoftext|>",
  "<|pad|>",
  "<|system|>",
  "<|user|>",
  "<|assistant|>",
  "<|end|>",
  "<think>",
  "</think>",
] as const;
export type SpecialToken = (typeof SPECIAL_TOKENS)[number];

/** GPT-2's pre-tokenizer with single-digit numbers (as LLaMA splits digits). */
export const DEFAULT_PATTERN =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

export type ChatRole = "system" | "user" | "assistant";
export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** Which special tokens `encode` turns into their ids; others are encoded as plain bytes. */
export type AllowedSpecial = "all" | "none" | readonly SpecialToken[];

export interface TokenizerJSON {
  type: "pairwise-byte-bpe";
  version: 1;
  pattern: string;
  specialTokens: Record<string, number>;
  /** merges[r] = [left id, right id]; the merged token has id 256 + #specials + r. */
  merges: [number, number][];
}

const BYTE_COUNT = 256;
const utf8 = new TextEncoder();

const pairKey = (a: number, b: number) => a * 1048576 + b; // ids < 2^20

/** A byte-level BPE tokenizer. */
export class BpeTokenizer {
  readonly pattern: string;
  readonly merges: readonly (readonly [number, number])[];
  /** Special token text -> id. */
  readonly special: Readonly<Record<SpecialToken, number>>;
  private readonly regex: RegExp;
  private readonly ranks = new Map<number, number>(); // pairKey -> rank
  private readonly tokenBytes: Uint8Array[]; // id -> bytes
  private readonly cache = new Map<string, number[]>();
  private readonly specialById = new Map<number, string>();

  // protected: trainer/hf/tokenizer.ts's HfTokenizer extends this class
  protected constructor(merges: readonly (readonly [number, number])[], pattern = DEFAULT_PATTERN) {
    this.pattern = pattern;
    this.regex = new RegExp(pattern, "gu");
    this.merges = merges;
    const special = {} as Record<SpecialToken, number>;
    SPECIAL_TOKENS.forEach((t, i) => {
      special[t] = BYTE_COUNT + i;
      this.specialById.set(BYTE_COUNT + i, t);
    });
    this.special = special;
    this.tokenBytes = [];
    for (let b = 0; b < BYTE_COUNT; b++) this.tokenBytes.push(Uint8Array.of(b));
    for (const t of SPECIAL_TOKENS) this.tokenBytes.push(utf8.encode(t));
    merges.forEach(([a, b], r) => {
      const A = this.tokenBytes[a];
      const B = this.tokenBytes[b];
      if (!A || !B) throw new Error(`BPE merge ${r} refers to unknown ids ${a}, ${b}`);
      if (this.specialById.has(a) || this.specialById.has(b))
        throw new Error(`BPE merge ${r} uses a special token`);
      const m = new Uint8Array(A.length + B.length);
      m.set(A);
      m.set(B, A.length);
      this.tokenBytes.push(m);
      this.ranks.set(pairKey(a, b), r);
    });
  }

  /** Total number of ids (bytes + specials + merges): the model's vocabulary size. */
  get vocabSize(): number {
    return this.tokenBytes.length;
  }
  get eosId(): number {
    return this.special["<|endoftext|>"];
  }
  get bosId(): number {
    return this.special["<|endoftext|>"];
  }
  get padId(): number {
    return this.special["<|pad|>"];
  }
  /** End of a chat turn. */
  get endId(): number {
    return this.special["<|end|>"];
  }
  /** Ids put before a plain-text prompt or document: BOS. */
  get textPrefixIds(): number[] {
    return [this.bosId];
  }
  /** Ids put before a rendered chat: BOS (a Hugging Face template writes its own). */
  get chatPrefixIds(): number[] {
    return [this.bosId];
  }
  get thinkId(): number {
    return this.special["<think>"];
  }
  get endThinkId(): number {
    return this.special["</think>"];
  }

  /** A tokenizer with no merges (pure bytes + specials). */
  static bytesOnly(): BpeTokenizer {
    return new BpeTokenizer([]);
  }

  /**
   * Learns merges from `corpus` until the vocabulary has `vocabSize` ids (or no pair occurs twice).
   * Deterministic: ties between equally frequent pairs go to the smaller (left, right) ids.
   */
  static train(corpus: readonly string[], vocabSize: number, opts: { pattern?: string } = {}): BpeTokenizer {
    const pattern = opts.pattern ?? DEFAULT_PATTERN;
    const base = BYTE_COUNT + SPECIAL_TOKENS.length;
    if (vocabSize < base) throw new Error(`vocabSize must be at least ${base} (bytes + special tokens)`);
    // 1. Count pre-tokenized pieces (special tokens are cut out: they are never merged).
    const re = new RegExp(pattern, "gu");
    const counts = new Map<string, number>();
    const specialRe = specialSplitter(SPECIAL_TOKENS);
    for (const text of corpus) {
      for (const part of text.split(specialRe)) {
        if (!part || (SPECIAL_TOKENS as readonly string[]).includes(part)) continue;
        for (const m of part.matchAll(re)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
      }
    }
    const words: number[][] = [];
    const freq: number[] = [];
    for (const [w, c] of counts) {
      words.push(Array.from(utf8.encode(w)));
      freq.push(c);
    }
    // 2. Pair statistics: count and the set of words each pair occurs in.
    const pairCount = new Map<number, number>();
    const pairWords = new Map<number, Set<number>>();
    const addWord = (wi: number, sign: 1 | -1) => {
      const w = words[wi] as number[];
      const f = (freq[wi] as number) * sign;
      for (let i = 0; i + 1 < w.length; i++) {
        const k = pairKey(w[i] as number, w[i + 1] as number);
        pairCount.set(k, (pairCount.get(k) ?? 0) + f);
        if (sign > 0) {
          let s = pairWords.get(k);
          if (!s) pairWords.set(k, (s = new Set()));
          s.add(wi);
        }
      }
    };
    for (let wi = 0; wi < words.length; wi++) addWord(wi, 1);
    // 3. Merge the most frequent pair until the vocabulary is full.
    const merges: [number, number][] = [];
    while (base + merges.length < vocabSize) {
      let bestK = -1;
      let bestC = 1; // a pair must occur at least twice
      for (const [k, c] of pairCount) {
        if (c > bestC || (c === bestC && c > 1 && k < bestK)) {
          bestK = k;
          bestC = c;
        }
      }
      if (bestK < 0) break;
      const a = Math.floor(bestK / 1048576);
      const b = bestK % 1048576;
      const newId = base + merges.length;
      merges.push([a, b]);
      const affected = pairWords.get(bestK) ?? new Set<number>();
      for (const wi of affected) {
        const w = words[wi] as number[];
        addWord(wi, -1);
        const out: number[] = [];
        for (let i = 0; i < w.length; i++) {
          if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
            out.push(newId);
            i++;
          } else out.push(w[i] as number);
        }
        words[wi] = out;
        addWord(wi, 1);
      }
      pairCount.delete(bestK);
      pairWords.delete(bestK);
    }
    return new BpeTokenizer(merges, pattern);
  }

  /** Encodes text. Special-token text is turned into special ids only where `allowedSpecial` allows. */
  encode(text: string, opts: { allowedSpecial?: AllowedSpecial } = {}): number[] {
    const allowed = opts.allowedSpecial ?? "all";
    const list: readonly string[] = allowed === "all" ? SPECIAL_TOKENS : allowed === "none" ? [] : allowed;
    const out: number[] = [];
    const parts = list.length ? text.split(specialSplitter(list)) : [text];
    for (const part of parts) {
      if (!part) continue;
      const sid = list.includes(part) ? this.special[part as SpecialToken] : undefined;
      if (sid !== undefined) {
        out.push(sid);
        continue;
      }
      for (const m of part.matchAll(this.regex)) this.encodePiece(m[0], out);
    }
    return out;
  }

  private encodePiece(piece: string, out: number[]): void {
    const hit = this.cache.get(piece);
    if (hit) {
      for (const id of hit) out.push(id);
      return;
    }
    let ids = Array.from(utf8.encode(piece));
    const base = BYTE_COUNT + SPECIAL_TOKENS.length;
    while (ids.length > 1) {
      let best = Infinity;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = this.ranks.get(pairKey(ids[i] as number, ids[i + 1] as number));
        if (r !== undefined && r < best) best = r;
      }
      if (best === Infinity) break;
      const [a, b] = this.merges[best] as [number, number];
      const merged: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
          merged.push(base + best);
          i++;
        } else merged.push(ids[i] as number);
      }
      ids = merged;
    }
    if (this.cache.size < 100_000) this.cache.set(piece, ids);
    for (const id of ids) out.push(id);
  }

  /** The UTF-8 bytes of a token sequence. */
  bytes(ids: readonly number[]): Uint8Array {
    let n = 0;
    for (const id of ids) n += this.idBytes(id).length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const id of ids) {
      const b = this.idBytes(id);
      out.set(b, o);
      o += b.length;
    }
    return out;
  }

  private idBytes(id: number): Uint8Array {
    const b = this.tokenBytes[id];
    if (!b) throw new Error(`Token id ${id} is outside the vocabulary (size ${this.vocabSize})`);
    return b;
  }

  /**
   * Decodes ids to text (special tokens as their text). Invalid UTF-8 becomes U+FFFD. A leading
   * byte-order mark is kept (ignoreBOM), or "\ufeff..." would not round-trip.
   */
  decode(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): string {
    const kept = opts.skipSpecial ? ids.filter((id) => !this.specialById.has(id)) : ids;
    return new TextDecoder("utf-8", { ignoreBOM: true }).decode(this.bytes(kept));
  }

  /** A streaming decoder: push ids, get the text they complete (multi-byte characters are held back). */
  streamDecoder(): { push(ids: readonly number[]): string; flush(): string } {
    const dec = new TextDecoder("utf-8", { ignoreBOM: true });
    return {
      push: (ids) => dec.decode(this.bytes(ids), { stream: true }),
      flush: () => dec.decode(),
    };
  }

  isSpecial(id: number): boolean {
    return this.specialById.has(id);
  }

  /** Token text for display (bytes decoded leniently). */
  tokenText(id: number): string {
    return this.specialById.get(id) ?? new TextDecoder("utf-8", { ignoreBOM: true }).decode(this.idBytes(id));
  }

  /**
   * Chat template as text:
   *   <|system|>...<|end|><|user|>...<|end|><|assistant|>...<|end|>  (+ "<|assistant|>" if addGenerationPrompt)
   */
  renderChat(messages: readonly ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): string {
    let s = "";
    for (const m of messages) s += `<|${m.role}|>${m.content}<|end|>`;
    if (opts.addGenerationPrompt) s += "<|assistant|>";
    return s;
  }

  /**
   * Chat template as ids, encoded safely: role markers are special ids, message contents may only
   * contain <think>/</think> as specials (a user typing "<|assistant|>" gets plain bytes).
   * `assistantMask[i]` is 1 where ids[i] belongs to an assistant reply (its content and <|end|>).
   */
  encodeChat(
    messages: readonly ChatMessage[],
    opts: { addGenerationPrompt?: boolean } = {},
  ): { ids: number[]; assistantMask: number[] } {
    const ids: number[] = [];
    const mask: number[] = [];
    const push = (xs: number[], m: number) => {
      for (const x of xs) {
        ids.push(x);
        mask.push(m);
      }
    };
    for (const msg of messages) {
      const roleId = this.special[`<|${msg.role}|>` as SpecialToken];
      if (roleId === undefined) throw new Error(`Unknown chat role "${msg.role}"`);
      const isA = msg.role === "assistant" ? 1 : 0;
      push([roleId], 0);
      push(this.encode(msg.content, { allowedSpecial: ["<think>", "</think>"] }), isA);
      push([this.endId], isA);
    }
    if (opts.addGenerationPrompt) push([this.special["<|assistant|>"]], 0);
    return { ids, assistantMask: mask };
  }

  toJSON(): TokenizerJSON {
    const specialTokens: Record<string, number> = {};
    for (const t of SPECIAL_TOKENS) specialTokens[t] = this.special[t];
    return {
      type: "pairwise-byte-bpe",
      version: 1,
      pattern: this.pattern,
      specialTokens,
      merges: this.merges.map(([a, b]) => [a, b]),
    };
  }

  static fromJSON(json: unknown): BpeTokenizer {
    const j = json as Partial<TokenizerJSON>;
    if (!j || j.type !== "pairwise-byte-bpe" || !Array.isArray(j.merges)) {
      throw new Error(
        'Not a Pairwise tokenizer.json (expected {"type":"pairwise-byte-bpe", merges: [...]}). ' +
          "Save tokenizers with BpeTokenizer#toJSON or saveCheckpoint.",
      );
    }
    SPECIAL_TOKENS.forEach((t, i) => {
      if (j.specialTokens && j.specialTokens[t] !== BYTE_COUNT + i) {
        throw new Error(`tokenizer.json: special token ${t} should have id ${BYTE_COUNT + i}`);
      }
    });
    return new BpeTokenizer(j.merges, j.pattern ?? DEFAULT_PATTERN);
  }
}

const splitterCache = new Map<string, RegExp>();
function specialSplitter(list: readonly string[]): RegExp {
  const key = list.join("\u0000");
  let re = splitterCache.get(key);
  if (!re) {
    const alts = [...list]
      .sort((a, b) => b.length - a.length)
      .map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    re = new RegExp(`(${alts.join("|")})`);
    splitterCache.set(key, re);
  }
  return re;
}
