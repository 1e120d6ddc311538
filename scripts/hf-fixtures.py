#!/usr/bin/env python3
"""Makes the Hugging Face fixtures in tests/fixtures/hf/ (run where transformers is installed).

    PYTHONUNBUFFERED=1 python3 scripts/hf-fixtures.py --out tests/fixtures/hf

Builds small random-initialised models of each architecture Pairwise loads, with a byte-level BPE
tokenizer trained here by the `tokenizers` library, saves each with transformers' own
save_pretrained, loads it back with the Auto* classes, and records what transformers computes:
token ids, decoded text, rendered chat templates, logits, greedy continuations and reward scores.
The TypeScript tests (tests/unit/trainer/hf*.test.ts) check Pairwise against these numbers.

Folders (each well under 1 MB):
  gpt2         GPT2LMHeadModel, fp32, tied; chat template inside tokenizer_config.json
  gpt2-reward  GPT2ForSequenceClassification (one label), fp32
  llama        LlamaForCausalLM, bf16 weights, GQA (4 heads / 2 kv), Llama 3 rope scaling, untied,
               tokenizer adds <|begin_of_text|>; chat_template.jinja; config.transformers4.json holds
               the same config in transformers 4 spelling (rope_theta/rope_scaling/torch_dtype)
  qwen2        Qwen2ForCausalLM, fp16 weights, sharded (model.safetensors.index.json), q/k/v bias, tied
  qwen2-reward Qwen2ForSequenceClassification (one label), fp32

Logits are computed on CPU in float32 (fp16/bf16 weights upcast: from_pretrained(dtype=float32)),
with the eager attention implementation, so that they are exact references for an fp32 forward.
Every step is guarded: a failure is recorded in manifest.json's "errors" and the rest still runs.
"""
import argparse
import json
import os
import random
import shutil
import sys
import traceback

import torch
import tokenizers
import transformers
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    GPT2Config,
    GPT2ForSequenceClassification,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen2ForSequenceClassification,
)

TF_MAJOR = int(transformers.__version__.split(".")[0])
ERRORS = []

# Qwen2's / Llama 3's pre-tokenizer split (digits 1-3 at a time in Llama 3; one at a time in Qwen2).
QWEN_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "<|pad|>",
]

QWEN_TEMPLATE = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

LLAMA_TEMPLATE = """{{- bos_token }}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{%- if system_message %}
    {{- "<|start_header_id|>system<|end_header_id|>\\n\\n" + system_message + "<|eot_id|>" }}
{%- endif %}
{%- for message in messages %}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
"""

# SmolLM2's template (ChatML with a default system prompt).
SMOL_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

TEXTS = [
    "Hello world! How are you today?",
    "  leading spaces and\ttabs\nnewlines\n\n  trailing   ",
    "Numbers 12345 and 3.14159, dates 2026-12-04.",
    "Unicode: caf\u00e9 na\u00efve \u4e2d\u6587 \U0001f917\U0001f44d\U0001f3fd e\u0301 \uff21\uff22",
    "<|im_start|>user\nhi there<|im_end|>\n<|endoftext|>",
    "def square(x):\n    return x ** 2  # the square\n",
    "don't I'll we're THEY'VE",
    "",
]

CHATS = [
    [{"role": "user", "content": "What is 2 + 3?"}],
    [
        {"role": "system", "content": "You answer briefly.  "},
        {"role": "user", "content": "Name a colour."},
        {"role": "assistant", "content": "  Blue."},
        {"role": "user", "content": "Another one, caf\u00e9 \U0001f917?"},
    ],
]


def corpus():
    rng = random.Random(0)
    words = (
        "the a of and to in is was for on that with as it by at from this be are have not but "
        "model reward policy preference human feedback training round token prompt completion "
        "chosen rejected judge answer question hello world you today how what why when where "
        "colour blue red green number square return def class import print value café naïve "
        "中文 模型 训练 🤗 👍 don't I'll we're they've"
    ).split()
    out = []
    for _ in range(3000):
        n = rng.randint(3, 14)
        s = " ".join(rng.choice(words) for _ in range(n))
        if rng.random() < 0.3:
            s += f" {rng.randint(0, 99999)}"
        if rng.random() < 0.2:
            s = s.capitalize() + "."
        if rng.random() < 0.1:
            s = "def f(x):\n    return x + " + str(rng.randint(0, 9)) + "\n"
        out.append(s)
    return out


def train_tokenizer(style):
    tok = Tokenizer(models.BPE())
    if style == "gpt2":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    else:  # qwen2 / llama 3
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        min_frequency=2,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(), trainer)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def hf_tokenizer(tok, template, bos=None, eos="<|endoftext|>", pad="<|pad|>", add_bos=False):
    t = Tokenizer.from_str(tok.to_str())
    if add_bos:
        t.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, t.token_to_id(bos))]
        )
    kw = dict(tokenizer_object=t, eos_token=eos, pad_token=pad, chat_template=template)
    if bos:
        kw["bos_token"] = bos
    return PreTrainedTokenizerFast(**kw)


def guarded(name):
    def wrap(fn):
        def run(*a, **k):
            try:
                return fn(*a, **k)
            except Exception as e:  # keep going: one failure must not cost the rest of the run
                ERRORS.append({"step": name, "error": repr(e), "trace": traceback.format_exc()})
                print(f"!! {name}: {e!r}", flush=True)
                return None

        return run

    return wrap


def r7(x):
    return float(f"{x:.7g}")


def record_tokenizer(d, exp):
    hf = AutoTokenizer.from_pretrained(d)
    raw = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    exp["tokenizer_class"] = type(hf).__name__
    cases = []
    for text in TEXTS:
        ids = hf.encode(text, add_special_tokens=True)
        ids_plain = hf.encode(text, add_special_tokens=False)
        raw_ids = raw.encode(text, add_special_tokens=True).ids
        cases.append(
            {
                "text": text,
                "ids": ids,
                "ids_no_special": ids_plain,
                "tokens": hf.convert_ids_to_tokens(ids),
                "raw_tokenizers_ids": raw_ids,
                "decoded": hf.decode(ids, skip_special_tokens=False),
                "decoded_skip_special": hf.decode(ids, skip_special_tokens=True),
            }
        )
    exp["tokenization"] = cases
    exp["special_tokens"] = {
        "bos": hf.bos_token,
        "eos": hf.eos_token,
        "pad": hf.pad_token,
        "bos_id": hf.bos_token_id,
        "eos_id": hf.eos_token_id,
        "pad_id": hf.pad_token_id,
    }
    exp["vocab_size"] = len(hf)
    return hf


def record_chat(hf, exp):
    out = []
    for msgs in CHATS:
        for gen in (True, False):
            text = hf.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen)
            ids = hf.encode(text, add_special_tokens=False)
            out.append({"messages": msgs, "add_generation_prompt": gen, "text": text, "ids": ids})
    exp["chat"] = out


def prompt_ids(hf):
    a = hf.encode("The reward model prefers the chosen completion", add_special_tokens=True)
    b = hf.encode("def square(x):\n    return", add_special_tokens=True)
    return [a[:20], b[:20]]


def record_causal(d, exp, hf):
    m = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
    exp["hf_class"] = type(m).__name__
    exp["num_parameters"] = sum(p.numel() for p in m.parameters())
    logits_cases = []
    with torch.no_grad():
        for ids in prompt_ids(hf):
            out = m(torch.tensor([ids])).logits[0]
            logits_cases.append({"ids": ids, "logits": [[r7(v) for v in row] for row in out.tolist()]})
    exp["logits"] = logits_cases
    greedy = []
    with torch.no_grad():
        for ids in prompt_ids(hf):
            g = m.generate(
                torch.tensor([ids]),
                attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                max_new_tokens=12,
                do_sample=False,
                pad_token_id=hf.pad_token_id,
            )
            new = g[0, len(ids) :].tolist()
            # the smallest top-1 / top-2 logit gap along the way: how robust the argmax is
            seq = ids + new
            lg = m(torch.tensor([seq])).logits[0, len(ids) - 1 : len(seq) - 1]
            top2 = lg.topk(2, dim=-1).values
            gap = float((top2[:, 0] - top2[:, 1]).min()) if len(new) else None
            greedy.append({"ids": ids, "new_ids": new, "text": hf.decode(new), "min_top2_gap": gap})
    exp["greedy"] = greedy


def reward_batch(hf):
    texts = ["A short answer.", "A much longer answer that goes on for a while, café 🤗.", "Yes"]
    return texts


def record_reward(d, exp, hf):
    m = AutoModelForSequenceClassification.from_pretrained(
        d, dtype=torch.float32, attn_implementation="eager"
    ).eval()
    exp["hf_class"] = type(m).__name__
    exp["num_parameters"] = sum(p.numel() for p in m.parameters())
    texts = reward_batch(hf)
    res = {"texts": texts}
    with torch.no_grad():
        for side in ("right", "left"):
            hf.padding_side = side
            enc = hf(texts, padding=True, return_tensors="pt")
            scores = m(**enc).logits[:, 0].tolist()
            res[side] = {
                "input_ids": enc["input_ids"].tolist(),
                "attention_mask": enc["attention_mask"].tolist(),
                "scores": [r7(s) for s in scores],
            }
        singles = []
        for t in texts:
            ids = hf.encode(t, add_special_tokens=True)
            singles.append(r7(m(torch.tensor([ids])).logits[0, 0].item()))
        res["single_scores"] = singles
    exp["reward"] = res


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")


def move_template_into_config(d):
    """transformers saves chat_template.jinja; older folders keep the template in tokenizer_config.json."""
    jp = os.path.join(d, "chat_template.jinja")
    cp = os.path.join(d, "tokenizer_config.json")
    cfg = json.load(open(cp))
    if os.path.exists(jp):
        cfg["chat_template"] = open(jp).read()
        os.remove(jp)
    write_json(cp, cfg)


def build(out, name, make_model, hf, *, reward=False, dtype=None, shard=None, template_in_config=False):
    d = os.path.join(out, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    exp = {"name": name}

    @guarded(f"{name}: save")
    def save():
        torch.manual_seed(1234)
        model = make_model()
        with torch.no_grad():  # HF initialises biases to 0 and norm weights to 1: make them matter
            for p in model.parameters():
                if p.dim() == 1:
                    p.add_(torch.randn_like(p) * 0.2)
        if dtype is not None:
            model = model.to(dtype)
        kw = {"max_shard_size": shard} if shard else {}
        model.save_pretrained(d, **kw)
        hf.save_pretrained(d)
        if template_in_config:
            move_template_into_config(d)
        return True

    if not save():
        return
    tok = guarded(f"{name}: tokenizer")(record_tokenizer)(d, exp)
    if tok is not None and not reward:
        guarded(f"{name}: chat")(record_chat)(tok, exp)
    if tok is not None:
        if reward:
            guarded(f"{name}: reward")(record_reward)(d, exp, tok)
        else:
            guarded(f"{name}: causal")(record_causal)(d, exp, tok)
    exp["files"] = {f: os.path.getsize(os.path.join(d, f)) for f in sorted(os.listdir(d))}
    write_json(os.path.join(out, f"{name}.expected.json"), exp)
    total = sum(exp["files"].values())
    print(f"{name}: {total} bytes, files {sorted(exp['files'])}", flush=True)


# Qwen2.5-0.5B-Instruct's config.json (its real weights cannot be downloaded here: random init).
QWEN05B = {
    "architectures": ["Qwen2ForCausalLM"],
    "attention_dropout": 0.0,
    "bos_token_id": 151643,
    "eos_token_id": 151645,
    "hidden_act": "silu",
    "hidden_size": 896,
    "initializer_range": 0.02,
    "intermediate_size": 4864,
    "max_position_embeddings": 32768,
    "max_window_layers": 21,
    "model_type": "qwen2",
    "num_attention_heads": 14,
    "num_hidden_layers": 24,
    "num_key_value_heads": 2,
    "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0,
    "sliding_window": 32768,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": 151936,
}


def make_qwen05b(d, fixtures):
    """A random-init model of exactly Qwen2.5-0.5B's shape, bf16, with the small fixture tokenizer."""
    cfg = Qwen2Config(**{k: v for k, v in QWEN05B.items() if k != "architectures"})
    torch.manual_seed(0)
    m = Qwen2ForCausalLM(cfg).to(torch.bfloat16)
    m.save_pretrained(d)
    AutoTokenizer.from_pretrained(os.path.join(fixtures, "qwen2")).save_pretrained(d)
    print("qwen05b:", sum(p.numel() for p in m.parameters()), "parameters", sorted(os.listdir(d)), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/hf")
    ap.add_argument("--qwen05b", help="only write a random-init Qwen2.5-0.5B folder here (uses --out's qwen2 tokenizer)")
    args = ap.parse_args()
    out = args.out
    if args.qwen05b:
        make_qwen05b(args.qwen05b, out)
        return
    os.makedirs(out, exist_ok=True)
    torch.backends.cuda.matmul.allow_tf32 = False

    gtok = train_tokenizer("gpt2")
    qtok = train_tokenizer("qwen")
    V = 512
    ids = {t: qtok.token_to_id(t) for t in SPECIALS}
    gids = {t: gtok.token_to_id(t) for t in SPECIALS}
    print("specials", ids, gids, flush=True)

    gpt2_tok = hf_tokenizer(gtok, SMOL_TEMPLATE, bos="<|endoftext|>", eos="<|im_end|>")
    llama_tok = hf_tokenizer(qtok, LLAMA_TEMPLATE, bos="<|begin_of_text|>", eos="<|eot_id|>", add_bos=True)
    qwen_tok = hf_tokenizer(qtok, QWEN_TEMPLATE, eos="<|im_end|>")

    gcfg = dict(
        vocab_size=V,
        n_positions=128,
        n_embd=64,
        n_layer=2,
        n_head=4,
        initializer_range=0.1,
        bos_token_id=gids["<|endoftext|>"],
        eos_token_id=gids["<|im_end|>"],
        pad_token_id=gids["<|pad|>"],
    )
    build(out, "gpt2", lambda: GPT2LMHeadModel(GPT2Config(**gcfg)), gpt2_tok, template_in_config=True)
    build(
        out,
        "gpt2-reward",
        lambda: GPT2ForSequenceClassification(GPT2Config(**gcfg, num_labels=1)),
        gpt2_tok,
        reward=True,
    )

    rope = {
        "rope_type": "llama3",
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 64,
    }
    lcfg = dict(
        vocab_size=V,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        rms_norm_eps=1e-5,
        initializer_range=0.1,
        tie_word_embeddings=False,
        bos_token_id=ids["<|begin_of_text|>"],
        eos_token_id=ids["<|eot_id|>"],
        pad_token_id=ids["<|pad|>"],
    )
    if TF_MAJOR >= 5:
        lcfg["rope_parameters"] = {**rope, "rope_theta": 500000.0}
    else:
        lcfg["rope_theta"] = 500000.0
        lcfg["rope_scaling"] = rope
    build(out, "llama", lambda: LlamaForCausalLM(LlamaConfig(**lcfg)), llama_tok, dtype=torch.bfloat16)

    @guarded("llama: transformers4 config")
    def v4_config():
        d = os.path.join(out, "llama")
        cfg = json.load(open(os.path.join(d, "config.json")))
        v4 = dict(cfg)
        rp = v4.pop("rope_parameters", None)
        if rp is not None:
            rp = dict(rp)
            v4["rope_theta"] = rp.pop("rope_theta")
            v4["rope_scaling"] = rp
        if "dtype" in v4:
            v4["torch_dtype"] = v4.pop("dtype")
        v4["transformers_version"] = "4.46.0"
        write_json(os.path.join(d, "config.transformers4.json"), v4)
        # transformers itself reads the old spelling to the same rope parameters
        back = LlamaConfig.from_dict(v4)
        e = json.load(open(os.path.join(out, "llama.expected.json")))
        e["transformers4_config_reads_as"] = {
            "rope_parameters": getattr(back, "rope_parameters", None),
            "dtype": str(getattr(back, "dtype", getattr(back, "torch_dtype", None))),
        }
        write_json(os.path.join(out, "llama.expected.json"), e)

    v4_config()

    qcfg = dict(
        vocab_size=V,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        rms_norm_eps=1e-6,
        initializer_range=0.1,
        tie_word_embeddings=True,
        use_sliding_window=False,
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|pad|>"],
    )
    if TF_MAJOR >= 5:
        qcfg["rope_parameters"] = {"rope_type": "default", "rope_theta": 1000000.0}
    else:
        qcfg["rope_theta"] = 1000000.0

    build(out, "qwen2", lambda: Qwen2ForCausalLM(Qwen2Config(**qcfg)), qwen_tok, dtype=torch.float16, shard="150KB")

    build(
        out, "qwen2-reward", lambda: Qwen2ForSequenceClassification(Qwen2Config(**qcfg, num_labels=1)), qwen_tok, reward=True)

    manifest = {
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "errors": ERRORS,
    }
    write_json(os.path.join(out, "manifest.json"), manifest)
    print(json.dumps({k: v for k, v in manifest.items() if k != "errors"}), flush=True)
    for e in ERRORS:
        print("ERROR", e["step"], e["trace"], flush=True)


if __name__ == "__main__":
    main()
