"""PyTorch reference for bench/trainer/run.ts: the same GPT-2 model (pre-LN, GELU tanh, tied
embeddings, HF GPT-2 parameter names and Conv1D (in, out) layouts), the same presets, batch shapes
and steps (SFT: cross-entropy over B x T; DPO: 2B sequences, completion = second half, cached
reference log-probs), AdamW + clip 1.0. Times fp32 eager (and bf16 autocast) on CUDA.

  python3 bench/trainer/torch_ref.py --presets tiny,small,base --out DIR \
      [--tfjs-json DIR/trainer-bench.json] [--check DIR/check-webgpu]

--tfjs-json prints the PyTorch / tfjs tokens-per-second ratio per (preset, step).
--check loads a checkpoint written by the trainer (model.safetensors + config.json) into this
model (and into transformers.GPT2LMHeadModel if installed) and compares logits with check.json.
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {
    "tiny": dict(vocab_size=1024, context_length=256, n_layer=4, n_head=4, n_embd=128),
    "small": dict(vocab_size=4096, context_length=512, n_layer=5, n_head=6, n_embd=384),
    "base": dict(vocab_size=8192, context_length=1024, n_layer=12, n_head=12, n_embd=768),
}
SHAPES = {"tiny": (16, 128), "small": (8, 256), "base": (8, 512)}  # B x T, as BENCH_SHAPES in run.ts


class Conv1D(nn.Module):
    """HF GPT-2's Conv1D: y = x @ W + b with W of shape (in, out)."""

    def __init__(self, nx, nf):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(nx, nf).normal_(0, 0.02))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(*x.shape[:-1], -1)


class Attn(nn.Module):
    def __init__(self, c, nh):
        super().__init__()
        self.nh = nh
        self.c_attn = Conv1D(c, 3 * c)
        self.c_proj = Conv1D(c, c)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.nh, C // self.nh).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = Conv1D(c, 4 * c)
        self.c_proj = Conv1D(4 * c, c)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, c, nh, eps):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c, eps=eps)
        self.attn = Attn(c, nh)
        self.ln_2 = nn.LayerNorm(c, eps=eps)
        self.mlp = MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, eps = cfg["n_embd"], cfg.get("layer_norm_eps", 1e-5)
        self.wte = nn.Embedding(cfg["vocab_size"], c)
        self.wpe = nn.Embedding(cfg["context_length"], c)
        self.h = nn.ModuleList([Block(c, cfg["n_head"], eps) for _ in range(cfg["n_layer"])])
        self.ln_f = nn.LayerNorm(c, eps=eps)
        nn.init.normal_(self.wte.weight, 0, 0.02)
        nn.init.normal_(self.wpe.weight, 0, 0.02)


class GPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.transformer = Transformer(cfg)

    def forward(self, ids):  # (B, T) -> logits (B, T, V), LM head tied to wte
        t = self.transformer
        T = ids.shape[1]
        x = t.wte(ids) + t.wpe(torch.arange(T, device=ids.device))
        for b in t.h:
            x = b(x)
        return t.ln_f(x) @ t.wte.weight.T


def token_logps(model, ids, tgt):
    logits = model(ids).float()
    return torch.gather(F.log_softmax(logits, -1), 2, tgt.unsqueeze(-1)).squeeze(-1)  # (B, T)


def bench(preset, steps, warmup, dtype, device, compile_=False):
    cfg = PRESETS[preset]
    B, T = SHAPES[preset]
    V = cfg["vocab_size"]
    torch.manual_seed(0)
    model = GPT(cfg).to(device)
    params = sum(p.numel() for p in model.parameters())
    fwd = torch.compile(model) if compile_ else model  # --compile: the torch.compile anchor
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    ctx = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if dtype == "bf16" else (lambda: torch.autocast("cuda", enabled=False))
    g = torch.Generator(device="cpu").manual_seed(1234)
    ids = torch.randint(0, V, (B, T), generator=g).to(device)
    tgt = torch.randint(0, V, (B, T), generator=g).to(device)

    def sft_step():
        with ctx():
            logits = fwd(ids)
        loss = F.cross_entropy(logits.float().view(-1, V), tgt.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    ids2 = torch.randint(0, V, (2 * B, T), generator=g).to(device)
    tgt2 = torch.randint(0, V, (2 * B, T), generator=g).to(device)
    mask2 = torch.zeros(2 * B, T, device=device)
    mask2[:, T // 2 :] = 1
    with torch.no_grad(), ctx():
        ref = (token_logps(model, ids2, tgt2) * mask2).sum(1)  # cached reference log-probs
    ref_c, ref_r = ref[:B], ref[B:]

    def dpo_step():
        with ctx():
            s = (token_logps(fwd, ids2, tgt2) * mask2).sum(1)
        z = (s[:B] - s[B:]) - (ref_c - ref_r)
        loss = -F.logsigmoid(0.1 * z).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    rows = []
    for name, fn, tokens in (("sft", sft_step, B * T), ("dpo", dpo_step, 2 * B * T)):
        torch.cuda.reset_peak_memory_stats()
        for _ in range(warmup):
            fn()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(steps):
            fn()
        torch.cuda.synchronize()
        ms = (time.perf_counter() - t0) / steps * 1000
        rows.append(dict(framework=f"pytorch-{'compile-' if compile_ else ''}{dtype}", preset=preset, params=params, B=B, T=T, step=name, msPerStep=ms,
                         tokensPerSecond=tokens / (ms / 1000), peakMemMB=torch.cuda.max_memory_allocated() / 2**20))
        print(f"  torch {'compile ' if compile_ else ''}{dtype} {preset} {name}: {ms:.2f} ms/step", file=sys.stderr)
    del model, opt
    torch.cuda.empty_cache()
    return rows


def read_safetensors(path):
    try:
        from safetensors.torch import load_file

        return load_file(path), "safetensors"
    except ImportError:
        with open(path, "rb") as f:
            buf = f.read()
        (n,) = struct.unpack("<Q", buf[:8])
        header = json.loads(buf[8 : 8 + n])
        header.pop("__metadata__", None)
        out = {}
        for name, h in header.items():
            b, e = h["data_offsets"]
            out[name] = torch.from_numpy(np.frombuffer(buf[8 + n + b : 8 + n + e], dtype="<f4").reshape(h["shape"]).copy())
        return out, "numpy reader (safetensors not installed)"


def check(dirpath):
    cfgj = json.load(open(os.path.join(dirpath, "config.json")))
    pc = cfgj["pairwise"]["config"]
    cfg = dict(vocab_size=pc["vocabSize"], context_length=pc["contextLength"], n_layer=pc["nLayer"], n_head=pc["nHead"],
               n_embd=pc["nEmbd"], layer_norm_eps=pc["layerNormEps"])
    sd, how = read_safetensors(os.path.join(dirpath, "model.safetensors"))
    model = GPT(cfg).double()
    model.load_state_dict({k: v.double() for k, v in sd.items()}, strict=True)
    chk = json.load(open(os.path.join(dirpath, "check.json")))
    ids = torch.tensor(chk["ids"]).view(*chk["shape"])
    want = torch.tensor(chk["logits"], dtype=torch.float64).view(*chk["shape"], -1)
    with torch.no_grad():
        got = model(ids)
    res = {"dir": dirpath, "backend": chk["backend"], "reader": how, "max_abs_diff_vs_float64_torch": float((got - want).abs().max())}
    try:
        from transformers import GPT2LMHeadModel

        hf = GPT2LMHeadModel.from_pretrained(dirpath).double().eval()
        with torch.no_grad():
            hl = hf(ids).logits
        res["max_abs_diff_vs_transformers_GPT2LMHeadModel"] = float((hl - want).abs().max())
    except Exception as e:  # transformers absent or refused the config
        res["transformers"] = f"not checked: {type(e).__name__}: {str(e)[:200]}"
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--presets", default="tiny,small,base")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--dtypes", default="fp32,bf16")
    ap.add_argument("--out", default="bench/results")
    ap.add_argument("--tfjs-json")
    ap.add_argument("--check", action="append", default=[])
    ap.add_argument("--compile", action="store_true", help="also time torch.compile(model) (as pytorch-compile-<dtype>)")
    ap.add_argument("--compile-presets", help="presets for --compile (default: --presets)")
    a = ap.parse_args()
    out = {"torch": torch.__version__, "cuda": torch.version.cuda, "device": None, "rows": [], "checks": []}
    for d in a.check:
        try:
            out["checks"].append(check(d))
        except Exception as e:
            out["checks"].append({"dir": d, "error": f"{type(e).__name__}: {e}"})
        print(json.dumps(out["checks"][-1]))
    if torch.cuda.is_available():
        out["device"] = torch.cuda.get_device_name(0)
        torch.backends.cuda.matmul.allow_tf32 = False  # plain fp32, as tfjs-webgpu computes
        torch.backends.cudnn.allow_tf32 = False
        for dtype in a.dtypes.split(","):
            for p in a.presets.split(","):
                try:
                    out["rows"] += bench(p, a.steps, a.warmup, dtype, "cuda")
                except Exception as e:
                    print(f"  torch {dtype} {p} failed: {e}", file=sys.stderr)
            for p in (a.compile_presets or a.presets).split(",") if a.compile else []:
                try:
                    out["rows"] += bench(p, a.steps, a.warmup, dtype, "cuda", compile_=True)
                except Exception as e:
                    print(f"  torch compile {dtype} {p} failed: {e}", file=sys.stderr)
    lines = ["| framework | preset | B x T | step | ms/step | tokens/s | peak MB |", "| --- | --- | --- | --- | ---: | ---: | ---: |"]
    for r in out["rows"]:
        lines.append(f"| {r['framework']} | {r['preset']} | {r['B']} x {r['T']} | {r['step']} | {r['msPerStep']:.2f} | {r['tokensPerSecond']:,.0f} | {r['peakMemMB']:.0f} |")
    if a.tfjs_json and os.path.exists(a.tfjs_json):
        tj = json.load(open(a.tfjs_json))
        lines += ["", "| tfjs backend | preset | step | tfjs tokens/s | torch fp32 tokens/s | torch fp32 / tfjs | torch bf16 / tfjs |",
                  "| --- | --- | --- | ---: | ---: | ---: | ---: |"]
        for r in tj["rows"]:
            def tok(fw):
                m = [x for x in out["rows"] if x["framework"] == fw and x["preset"] == r["preset"] and x["step"] == r["step"]]
                return m[0]["tokensPerSecond"] if m else float("nan")
            f32, b16 = tok("pytorch-fp32"), tok("pytorch-bf16")
            lines.append(f"| {r['backend']} | {r['preset']} | {r['step']} | {r['tokensPerSecond']:,.0f} | {f32:,.0f} | {f32 / r['tokensPerSecond']:.1f}x | {b16 / r['tokensPerSecond']:.1f}x |")
            out.setdefault("ratios", []).append(dict(backend=r["backend"], preset=r["preset"], step=r["step"], tfjs=r["tokensPerSecond"],
                                                     torch_fp32=f32, torch_bf16=b16))
    md = "\n".join(lines)
    os.makedirs(a.out, exist_ok=True)
    json.dump(out, open(os.path.join(a.out, "torch-ref.json"), "w"), indent=1)
    open(os.path.join(a.out, "torch-ref.md"), "w").write(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
