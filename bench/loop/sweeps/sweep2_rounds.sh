#!/usr/bin/env bash
# sweep 2: rounds only, from one bootstrap checkpoint (600 demonstrations, 250 SFT steps), in parallel
cd "$(dirname "$0")"
C="--init boot600 --sft-prompts 600 --held-out 300 --rounds 3 --no-baseline 1"
while read -r name args; do
  [ -z "$name" ] && continue
  ( timeout 555 node proto.cjs $args --out "$OUT/$name.json" > "/tmp/$name.log" 2>&1 ) &
done <<CFG
b01_curve_lr2e-4   --init boot600 --sft-prompts 600 --held-out 300 --baseline-curve 15000,30000,60000,100000 --base-lr 2e-4
b02_curve_lr1e-3   --init boot600 --sft-prompts 600 --held-out 300 --baseline-curve 15000,30000,60000,100000 --base-lr 1e-3
r01_dpo1_cons      $C --method dpo --lr 1e-4 --samples 8 --prompts 64 --pairing consecutive
r02_rpo1_cons      $C --method rpo --lr 1e-4 --samples 8 --prompts 64 --pairing consecutive
r03_rpo3_cons      $C --method rpo --lr 3e-4 --samples 8 --prompts 64 --pairing consecutive
r04_rpo3_bw        $C --method rpo --lr 3e-4 --samples 8 --prompts 64 --pairing bestworst
r05_rpo3_all       $C --method rpo --lr 3e-4 --samples 8 --prompts 64 --pairing all
r06_rpo10_cons     $C --method rpo --lr 1e-3 --samples 8 --prompts 64 --pairing consecutive
r07_rpo3_cons_t07  $C --method rpo --lr 3e-4 --samples 8 --prompts 64 --pairing consecutive --temperature 0.7
r08_rpo3_cons_acc  $C --method rpo --lr 3e-4 --samples 8 --prompts 64 --pairing consecutive --pairs all
r09_rft3_cons      $C --method sft --lr 3e-4 --samples 8 --prompts 64 --pairing consecutive
r10_rpo3_cons_ep4  $C --method rpo --lr 3e-4 --samples 8 --prompts 64 --pairing consecutive --epochs 4 --steps 80
r11_rpo3_b05_cons  $C --method rpo --lr 3e-4 --beta 0.5 --samples 8 --prompts 64 --pairing consecutive
r12_rft10_cons     $C --method sft --lr 1e-3 --samples 8 --prompts 64 --pairing consecutive
r13_rpo3_cons_s1   $C --method rpo --lr 3e-4 --samples 8 --prompts 64 --pairing consecutive --seed 1
r14_rpo3_s4_p128   $C --method rpo --lr 3e-4 --samples 4 --prompts 128 --pairing consecutive
CFG
wait
for f in /tmp/*.log; do echo "== $f"; cut -c1-300 "$f"; done > "$OUT/all_logs.txt"; for f in "$OUT"/*.json; do echo "== $f"; cat "$f"; done > "$OUT/ALL.txt"; rm -f "$OUT"/*.json
