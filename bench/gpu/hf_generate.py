"""Hugging Face `model.generate` (batched, KV cache) on a Pairwise checkpoint loaded as
GPT2LMHeadModel: the anchor of the generation rows of `npm run bench -- gpu` (bench/gpu/generate.ts).

  python3 hf_generate.py --ckpt DIR --prompts prompts.json --new 256 --out hf.json

prompts.json: {"promptIds": [[...], ...], "pad": id}. Prompts are left-padded with an attention mask
(positions follow the mask, as for Pairwise, where every prompt starts at position 0); the pad
token is suppressed (Pairwise never samples it) and end-of-text does not stop a row, so each row
gets exactly --new tokens. Times one warm run per setting with torch.cuda.synchronize around it.
"""
import argparse
import json
import time

import torch
from transformers import GPT2LMHeadModel

ap = argparse.ArgumentParser()
ap.add_argument("--ckpt", required=True)
ap.add_argument("--prompts", required=True)
ap.add_argument("--new", type=int, default=256)
ap.add_argument("--out", required=True)
ap.add_argument("--modes", default="fp32:greedy,fp32:sample,tf32:greedy,bf16:greedy")
a = ap.parse_args()

spec = json.load(open(a.prompts))
ids, pad = spec["promptIds"], spec["pad"]
B, L = len(ids), max(len(p) for p in ids)
dev = "cuda"
x = torch.full((B, L), pad, dtype=torch.long)
mask = torch.zeros((B, L), dtype=torch.long)
for i, p in enumerate(ids):
    x[i, L - len(p):] = torch.tensor(p)
    mask[i, L - len(p):] = 1
x, mask = x.to(dev), mask.to(dev)

rows = []
for spec_ in a.modes.split(","):
    prec, mode = spec_.split(":")
    torch.backends.cuda.matmul.allow_tf32 = prec == "tf32"
    torch.backends.cudnn.allow_tf32 = prec == "tf32"
    dtype = torch.bfloat16 if prec == "bf16" else torch.float32
    model = GPT2LMHeadModel.from_pretrained(a.ckpt, dtype=dtype).to(dev).eval()
    gc = model.generation_config
    gc.eos_token_id = None
    gc.pad_token_id = pad
    kw = dict(attention_mask=mask, use_cache=True, suppress_tokens=[pad])
    if mode == "greedy":
        kw.update(do_sample=False)
    else:
        kw.update(do_sample=True, temperature=1.0, top_k=0, top_p=1.0)
    with torch.no_grad():
        model.generate(x, max_new_tokens=8, **kw)  # warm-up
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = model.generate(x, max_new_tokens=a.new, **kw)
        torch.cuda.synchronize()
        sec = time.perf_counter() - t0
    new = out[:, L:]
    row = {"precision": prec, "mode": mode, "seconds": sec, "tokens": int(new.numel())}
    if mode == "greedy" and prec == "fp32":
        row["tokenIds"] = new.tolist()
    print(f"  HF generate {prec} {mode}: {new.numel() / sec:.0f} tokens/s ({new.numel()} tokens, {sec:.2f} s)", flush=True)
    rows.append(row)
    del model
    torch.cuda.empty_cache()

json.dump({"torch": torch.__version__, "device": torch.cuda.get_device_name(0), "rows": rows}, open(a.out, "w"))
