#!/usr/bin/env python3
"""Checks folders that Pairwise saved against transformers (run where transformers is installed).

    PYTHONUNBUFFERED=1 python3 scripts/hf-verify.py /tmp/hfcheck [--json OUT.json]

For every sub-folder with a pairwise-expected.json (written by scripts/hf-gpu-check.ts), loads the
folder with transformers alone (AutoModelForCausalLM / AutoModelForSequenceClassification,
AutoTokenizer) and tokenizers.Tokenizer.from_file, and compares: logits (or reward scores at the
last non-padding token) with the values Pairwise computed, token ids, and the rendered chat template.
"""
import glob
import json
import os
import sys

import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

torch.backends.cuda.matmul.allow_tf32 = False


def check(d):
    rec = json.load(open(os.path.join(d, "pairwise-expected.json")))
    cfg = json.load(open(os.path.join(d, "config.json")))
    arch = cfg["architectures"][0]
    res = {"folder": os.path.basename(d), "architecture": arch}
    raw = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    tok = AutoTokenizer.from_pretrained(d)
    res["tokenizer_class"] = type(tok).__name__
    res["tokens_equal_tokenizers"] = all(raw.encode(t["text"], add_special_tokens=False).ids == t["ids"] for t in rec["texts"])
    res["tokens_equal_autotokenizer"] = all(tok.encode(t["text"], add_special_tokens=False) == t["ids"] for t in rec["texts"])
    res["decode_equal"] = all(tok.decode(t["ids"]) == t["text"] for t in rec["texts"])
    if "chat" in rec:
        c = rec["chat"]
        text = tok.apply_chat_template(c["messages"], tokenize=False, add_generation_prompt=True)
        res["chat_text_equal"] = text == c["text"]
        res["chat_ids_equal"] = tok.encode(text, add_special_tokens=False) == c["ids"]
    with torch.no_grad():
        if "ForSequenceClassification" in arch:
            m = AutoModelForSequenceClassification.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
            r = rec["reward"]
            ids = torch.tensor(r["input_ids"])
            mask = torch.tensor([[1] * n + [0] * (ids.shape[1] - n) for n in r["lengths"]])
            scores = m(input_ids=ids, attention_mask=mask).logits[:, 0].tolist()
            res["reward_max_abs_diff"] = max(abs(a - b) for a, b in zip(scores, r["scores"]))
            res["ok"] = res["reward_max_abs_diff"] < 1e-4
        else:
            m = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
            lg = rec["logits"]
            out = m(torch.tensor([lg["ids"]])).logits[0]
            diff = 0.0
            for r, row in zip(lg["rows"], lg["values"]):
                diff = max(diff, (out[r] - torch.tensor(row)).abs().max().item())
            res["logits_max_abs_diff"] = diff
            res["ok"] = diff < 1e-4
    res["params"] = sum(p.numel() for p in m.parameters())
    res["ok"] = bool(res["ok"] and res["tokens_equal_tokenizers"] and res["tokens_equal_autotokenizer"] and res.get("chat_text_equal", True))
    return res


def main():
    root = sys.argv[1]
    results = []
    for f in sorted(glob.glob(os.path.join(root, "*", "pairwise-expected.json"))):
        d = os.path.dirname(f)
        try:
            results.append(check(d))
        except Exception as e:  # report and go on
            results.append({"folder": os.path.basename(d), "ok": False, "error": repr(e)})
        print(json.dumps(results[-1]), flush=True)
    if "--json" in sys.argv:
        json.dump(results, open(sys.argv[sys.argv.index("--json") + 1], "w"), indent=1)
    print("ALL OK" if results and all(r["ok"] for r in results) else "SOME FAILED", flush=True)


if __name__ == "__main__":
    main()
