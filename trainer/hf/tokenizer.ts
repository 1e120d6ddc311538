// Hugging Face tokenizers and chat templates, through maintained libraries:
//   @huggingface/tokenizers  encodes/decodes any tokenizer.json (pure TypeScript, transformers.js's)
//   @huggingface/jinja       renders chat templates (the one transformers.js uses)
// and the standard tokenizer.json for Pairwise's own byte-level BPE (BpeTokenizer), so that
// `tokenizers.Tokenizer.from_file` and `AutoTokenizer.from_pretrained` read a Pairwise checkpoint.
//
// HfTokenizer extends BpeTokenizer so that every loop, generator and server path that takes a
// BpeTokenizer takes a Hugging Face tokenizer too; it overrides every public method.
import { Template } from "@huggingface/jinja";
import { Tokenizer } from "@huggingface/tokenizers";
import { promises as fs } from "node:fs";
import path from "node:path";
import { BpeTokenizer, type ChatMessage, SPECIAL_TOKENS, type SpecialToken } from "../tokenizer";

type Json = Record<string, unknown>;

// GPT-2's byte <-> unicode map: printable bytes stand for themselves, the rest shift to 256+.
let B2U: string[] | null = null;
export function byteToUnicode(): string[] {
  if (B2U) return B2U;
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++)
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  B2U = new Array<string>(256);
  bs.forEach((b, i) => ((B2U as string[])[b] = String.fromCharCode(cs[i] as number)));
  return B2U;
}

/** The Pairwise chat template in Jinja (what BpeTokenizer#renderChat writes). */
export const PAIRWISE_CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}";

/**
 * Standard tokenizer.json for a BpeTokenizer: BPE model (vocab + merges over byte-level strings),
 * the same pre-tokenizer regex (Split, isolated) then ByteLevel without its own regex, the specials
 * as added tokens. ids are unchanged: bytes 0..255, specials 256.., merge r at 256 + #specials + r.
 */
export function bpeTokenizerJson(tok: BpeTokenizer): Json {
  const b2u = byteToUnicode();
  const strs: string[] = [];
  for (let b = 0; b < 256; b++) strs.push(b2u[b] as string);
  for (const t of SPECIAL_TOKENS) strs.push(t);
  const vocab: Record<string, number> = {};
  strs.forEach((s, i) => (vocab[s] = i));
  const merges: [string, string][] = [];
  tok.merges.forEach(([a, b], r) => {
    const s = (strs[a] as string) + (strs[b] as string);
    const id = strs.length;
    if (vocab[s] !== undefined)
      throw new Error(
        `tokenizer: merge ${r} makes "${s}", already token ${vocab[s]}; not expressible as HF BPE`,
      );
    vocab[s] = id;
    strs.push(s);
    merges.push([strs[a] as string, strs[b] as string]);
  });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((t) => ({
      id: tok.special[t],
      content: t,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: tok.pattern }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

/** tokenizer_config.json for a BpeTokenizer (special tokens and the chat template). */
export function bpeTokenizerConfig(tok: BpeTokenizer): Json {
  const added: Record<string, Json> = {};
  for (const t of SPECIAL_TOKENS)
    added[String(tok.special[t])] = {
      content: t,
      lstrip: false,
      normalized: false,
      rstrip: false,
      single_word: false,
      special: true,
    };
  return {
    tokenizer_class: "PreTrainedTokenizerFast",
    added_tokens_decoder: added,
    bos_token: "<|endoftext|>",
    eos_token: "<|endoftext|>",
    pad_token: "<|pad|>",
    additional_special_tokens: SPECIAL_TOKENS.filter((t) => !["<|endoftext|>", "<|pad|>"].includes(t)),
    model_max_length: 1_000_000_000,
    clean_up_tokenization_spaces: false,
    chat_template: PAIRWISE_CHAT_TEMPLATE,
    pairwise_tokenizer: "pairwise-byte-bpe",
  };
}

/**
 * Reads back a BpeTokenizer from a standard tokenizer.json that has its layout (bytes at 0..255,
 * Pairwise's specials next, then merges in id order); null if it has not.
 */
export function bpeFromTokenizerJson(j: Json): { merges: [number, number][]; pattern: string } | null {
  const model = j["model"] as
    { type?: string; vocab?: Record<string, number>; merges?: unknown[] } | undefined;
  if (!model || model.type !== "BPE" || !model.vocab || !Array.isArray(model.merges)) return null;
  const b2u = byteToUnicode();
  for (let b = 0; b < 256; b++) if (model.vocab[b2u[b] as string] !== b) return null;
  const added = (j["added_tokens"] as { id: number; content: string }[] | undefined) ?? [];
  for (const [i, t] of SPECIAL_TOKENS.entries())
    if (!added.some((a) => a.id === 256 + i && a.content === t)) return null;
  const pre = j["pre_tokenizer"] as
    { pretokenizers?: { type: string; pattern?: { Regex?: string } }[] } | undefined;
  const pattern = pre?.pretokenizers?.[0]?.pattern?.Regex;
  if (!pattern) return null;
  const base = 256 + SPECIAL_TOKENS.length;
  const merges: [number, number][] = [];
  for (const [r, m] of model.merges.entries()) {
    const [a, b] = typeof m === "string" ? (m.split(" ") as [string, string]) : (m as [string, string]);
    const ia = model.vocab[a];
    const ib = model.vocab[b];
    if (ia === undefined || ib === undefined || model.vocab[a + b] !== base + r) return null;
    merges.push([ia, ib]);
  }
  return { merges, pattern };
}

async function readJson(file: string): Promise<Json | null> {
  const raw = await fs.readFile(file, "utf8").catch(() => null);
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as Json;
  } catch {
    throw new Error(`${file} is not valid JSON`);
  }
}

function tokenContent(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof (v as Json)["content"] === "string")
    return (v as Json)["content"] as string;
  return null;
}

/** A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json + chat template). */
export class HfTokenizer extends BpeTokenizer {
  readonly hf: Tokenizer;
  readonly tokenizerJson: Json;
  readonly tokenizerConfig: Json;
  readonly chatTemplate: string | null;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly padToken: string | null;
  private readonly template: Template | null;
  private readonly ids: { bos: number | null; eos: number; pad: number; end: number; size: number };
  private readonly specialIds: Set<number>;
  private readonly textPrefix: number[];
  private readonly textSuffix: number[];

  constructor(
    tokenizerJson: Json,
    tokenizerConfig: Json,
    o: { chatTemplate?: string | null; generationEos?: number[] } = {},
  ) {
    super([]);
    this.tokenizerJson = tokenizerJson;
    this.tokenizerConfig = tokenizerConfig;
    this.hf = new Tokenizer(tokenizerJson, tokenizerConfig);
    const tpl = o.chatTemplate ?? tokenizerConfig["chat_template"] ?? null;
    // a list of named templates: take "default"
    this.chatTemplate = Array.isArray(tpl)
      ? ((tpl as { name: string; template: string }[]).find((t) => t.name === "default")?.template ?? null)
      : (tpl as string | null);
    this.template = this.chatTemplate ? new Template(this.chatTemplate) : null;
    this.bosToken = tokenContent(tokenizerConfig["bos_token"]);
    this.eosToken = tokenContent(tokenizerConfig["eos_token"]);
    this.padToken = tokenContent(tokenizerConfig["pad_token"]);
    const id = (t: string | null) => (t === null ? undefined : this.hf.token_to_id(t));
    const vocab = this.hf.get_vocab(true);
    let size = 0;
    for (const v of vocab.values()) size = Math.max(size, v + 1);
    const eos = id(this.eosToken) ?? o.generationEos?.[0];
    if (eos === undefined)
      throw new Error("tokenizer: no eos_token in tokenizer_config.json or generation_config.json");
    this.ids = {
      bos: id(this.bosToken) ?? null,
      eos,
      pad: id(this.padToken) ?? eos,
      end: o.generationEos?.[0] ?? eos,
      size,
    };
    this.specialIds = new Set(
      [...this.hf.get_added_tokens_decoder()].filter(([, t]) => t.special).map(([i]) => i),
    );
    // what the post-processor adds around a text (e.g. Llama's <|begin_of_text|>)
    const probe = "a";
    const withSp = this.hf.encode(probe, { add_special_tokens: true }).ids;
    const plain = this.hf.encode(probe, { add_special_tokens: false }).ids;
    const at = withSp.findIndex((_, i) => plain.every((p, j) => withSp[i + j] === p));
    this.textPrefix = at > 0 ? withSp.slice(0, at) : [];
    this.textSuffix = at >= 0 ? withSp.slice(at + plain.length) : [];
    const special = {} as Record<SpecialToken, number>;
    for (const t of SPECIAL_TOKENS) special[t] = this.hf.token_to_id(t) ?? -1;
    special["<|endoftext|>"] = this.ids.eos;
    special["<|pad|>"] = this.ids.pad;
    special["<|end|>"] = this.ids.end;
    (this as { special: Record<SpecialToken, number> }).special = special;
  }

  /** Reads tokenizer.json, tokenizer_config.json, chat_template.jinja and generation_config.json. */
  static async fromFolder(dir: string): Promise<HfTokenizer> {
    const tj = await readJson(path.join(dir, "tokenizer.json"));
    if (!tj)
      throw new Error(
        `${dir} has no tokenizer.json (the fast-tokenizer file). Save the tokenizer with transformers ` +
          `(AutoTokenizer.from_pretrained(...).save_pretrained(dir)), which writes it.`,
      );
    const tc = (await readJson(path.join(dir, "tokenizer_config.json"))) ?? {};
    const jinja = await fs.readFile(path.join(dir, "chat_template.jinja"), "utf8").catch(() => null);
    const gen = (await readJson(path.join(dir, "generation_config.json"))) ?? {};
    const ge = gen["eos_token_id"];
    const generationEos = typeof ge === "number" ? [ge] : Array.isArray(ge) ? (ge as number[]) : undefined;
    return new HfTokenizer(tj, tc, { chatTemplate: jinja, generationEos });
  }

  override get vocabSize(): number {
    return this.ids.size;
  }
  override get eosId(): number {
    return this.ids.eos;
  }
  /** The BOS id if the tokenizer has one, else the EOS id (BpeTokenizer's contract is a number). */
  override get bosId(): number {
    return this.ids.bos ?? this.ids.eos;
  }
  override get padId(): number {
    return this.ids.pad;
  }
  override get endId(): number {
    return this.ids.end;
  }
  /** Ids the tokenizer puts before a plain text (add_special_tokens=True), e.g. Llama's BOS. */
  override get textPrefixIds(): number[] {
    return this.textPrefix;
  }
  /** A rendered chat template already holds any BOS it needs. */
  override get chatPrefixIds(): number[] {
    return [];
  }

  /** Encodes text; added tokens (specials) in the text become their ids, as transformers does. */
  override encode(text: string): number[] {
    if (!text) return [];
    return this.hf.encode(text, { add_special_tokens: false }).ids;
  }

  /** Encodes as transformers' `tokenizer(text)` does (with the post-processor's specials). */
  encodeWithSpecial(text: string): number[] {
    return [...this.textPrefix, ...this.encode(text), ...this.textSuffix];
  }

  override decode(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): string {
    if (!ids.length) return "";
    return this.hf.decode([...ids], {
      skip_special_tokens: opts.skipSpecial ?? false,
      clean_up_tokenization_spaces: false,
    });
  }

  override streamDecoder(): { push(ids: readonly number[]): string; flush(): string } {
    const all: number[] = [];
    let out = "";
    return {
      push: (ids) => {
        all.push(...ids);
        const text = this.decode(all);
        // hold back an incomplete multi-byte character (decoded as U+FFFD at the end)
        const stable = text.endsWith("\ufffd") ? text.slice(0, text.length - 1) : text;
        if (!stable.startsWith(out)) return "";
        const piece = stable.slice(out.length);
        out = stable;
        return piece;
      },
      flush: () => {
        const text = this.decode(all);
        const piece = text.startsWith(out) ? text.slice(out.length) : "";
        out = text;
        return piece;
      },
    };
  }

  override isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  override tokenText(id: number): string {
    return this.hf.id_to_token(id) ?? "";
  }

  /** The chat template rendered as transformers' apply_chat_template(tokenize=False) does. */
  override renderChat(
    messages: readonly ChatMessage[],
    opts: { addGenerationPrompt?: boolean } = {},
  ): string {
    if (!this.template)
      throw new Error(
        "This tokenizer has no chat template (tokenizer_config.json chat_template or chat_template.jinja); " +
          "use plain-text prompts or add a template.",
      );
    const extra: Json = {};
    for (const [k, v] of Object.entries(this.tokenizerConfig))
      if (k.endsWith("_token") && tokenContent(v) !== null) extra[k] = tokenContent(v);
    return this.template.render({
      ...extra,
      messages: messages.map((m) => ({ ...m })),
      add_generation_prompt: opts.addGenerationPrompt ?? false,
    });
  }

  /**
   * The chat as ids (the rendered template, tokenized without adding specials, as
   * apply_chat_template(tokenize=True)) and a mask over assistant replies: each assistant message's
   * content and the end-of-turn token right after it. The text is tokenized in segments split at
   * those replies, so a reply's tokens never straddle the template's text.
   */
  override encodeChat(
    messages: readonly ChatMessage[],
    opts: { addGenerationPrompt?: boolean } = {},
  ): { ids: number[]; assistantMask: number[] } {
    const text = this.renderChat(messages, opts);
    const endTok = this.hf.id_to_token(this.ids.end) ?? "";
    const spans: [number, number][] = [];
    let cursor = 0;
    for (const m of messages) {
      const content = m.content;
      let at = content ? text.indexOf(content, cursor) : -1;
      let len = content.length;
      if (at < 0 && content.trim()) {
        at = text.indexOf(content.trim(), cursor);
        len = content.trim().length;
      }
      if (at < 0) continue;
      cursor = at + len;
      if (m.role !== "assistant") continue;
      let end = at + len;
      if (endTok && text.startsWith(endTok, end)) end += endTok.length;
      spans.push([at, end]);
      cursor = end;
    }
    const ids: number[] = [];
    const assistantMask: number[] = [];
    let pos = 0;
    const push = (s: string, m: number) => {
      for (const id of this.encode(s)) {
        ids.push(id);
        assistantMask.push(m);
      }
    };
    for (const [a, b] of spans) {
      push(text.slice(pos, a), 0);
      push(text.slice(a, b), 1);
      pos = b;
    }
    push(text.slice(pos), 0);
    return { ids, assistantMask };
  }

  /** The tokenizer.json this tokenizer was read from. Use hfTokenizerFiles() to save. */
  override toJSON(): never {
    throw new Error("HfTokenizer is saved as tokenizer.json + tokenizer_config.json (saveTokenizerFiles)");
  }
}

/** Writes tokenizer.json, tokenizer_config.json (with the chat template) for either tokenizer kind. */
export async function saveTokenizerFiles(dir: string, tok: BpeTokenizer): Promise<void> {
  let tj: Json;
  let tc: Json;
  if (tok instanceof HfTokenizer) {
    tj = tok.tokenizerJson;
    tc = { ...tok.tokenizerConfig };
    if (tok.chatTemplate) tc["chat_template"] = tok.chatTemplate;
  } else {
    tj = bpeTokenizerJson(tok);
    tc = bpeTokenizerConfig(tok);
  }
  await fs.writeFile(path.join(dir, "tokenizer.json"), JSON.stringify(tj));
  await fs.writeFile(path.join(dir, "tokenizer_config.json"), JSON.stringify(tc, null, 2));
}

/** Reads the tokenizer of a folder: Pairwise's BPE (either file format) or any HF tokenizer. */
export async function loadTokenizerFromFolder(dir: string): Promise<BpeTokenizer> {
  const tj = await readJson(path.join(dir, "tokenizer.json"));
  if (tj && tj["type"] === "pairwise-byte-bpe") return BpeTokenizer.fromJSON(tj);
  if (tj) {
    const bpe = bpeFromTokenizerJson(tj);
    if (bpe) return BpeTokenizer.fromJSON({ type: "pairwise-byte-bpe", version: 1, ...bpe });
  }
  return HfTokenizer.fromFolder(dir);
}
