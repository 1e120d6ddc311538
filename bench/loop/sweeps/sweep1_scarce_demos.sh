#!/usr/bin/env bash
# sweep 1: each line one config, run in parallel, results under $OUT
cd "$(dirname "$0")"
B1="--sft-prompts 200 --sft-val 0.15 --sft-eval-every 20 --patience 3 --sft-steps 300 --held-out 400 --rounds 3"
i=0
while read -r name args; do
  [ -z "$name" ] && continue
  ( timeout 575 node proto.cjs $args --out "$OUT/$name.json" > "$OUT/$name.log" 2>&1 ) &
done <<CFG
c01_rpo_s4_cons      $B1 --method rpo --lr 1e-4 --samples 4 --prompts 192 --pairing consecutive
c02_rpo3_s8_bw       $B1 --method rpo --lr 3e-4 --samples 8 --prompts 128 --pairing bestworst
c03_rpo3_s8_all      $B1 --method rpo --lr 3e-4 --samples 8 --prompts 128 --pairing all
c04_rft3_s8_bw       $B1 --method sft --lr 3e-4 --samples 8 --prompts 128 --pairing bestworst
c05_dpo1_s8_bw       $B1 --method dpo --lr 1e-4 --samples 8 --prompts 128 --pairing bestworst
c06_rpo3_s8_bw_t07   $B1 --method rpo --lr 3e-4 --samples 8 --prompts 128 --pairing bestworst --temperature 0.7
c07_rpo10_s8_bw      $B1 --method rpo --lr 1e-3 --samples 8 --prompts 128 --pairing bestworst
c08_rpo3_s8_bw_acc   $B1 --method rpo --lr 3e-4 --samples 8 --prompts 128 --pairing bestworst --pairs all
c09_rpo3_s8_bw_ep4   $B1 --method rpo --lr 3e-4 --samples 8 --prompts 128 --pairing bestworst --epochs 4 --steps 80
c10_d100_rpo3_s8_bw  --sft-prompts 100 --sft-val 0.15 --sft-eval-every 20 --patience 3 --sft-steps 300 --held-out 400 --rounds 3 --method rpo --lr 3e-4 --samples 8 --prompts 128 --pairing bestworst
c11_d300_rpo3_s8_bw  --sft-prompts 300 --sft-val 0.15 --sft-eval-every 20 --patience 3 --sft-steps 300 --held-out 400 --rounds 3 --method rpo --lr 3e-4 --samples 8 --prompts 128 --pairing bestworst
c12_d600_rpo3_s8_bw  --sft-prompts 600 --sft-steps 250 --held-out 400 --rounds 3 --method rpo --lr 3e-4 --samples 8 --prompts 128 --pairing bestworst
c13_rpo3_b05_s8_bw   $B1 --method rpo --lr 3e-4 --beta 0.5 --samples 8 --prompts 128 --pairing bestworst
c14_rpo3_s8_bw_seed1 $B1 --method rpo --lr 3e-4 --samples 8 --prompts 128 --pairing bestworst --seed 1
c15_rpo3_s8_bw_blr1e3 $B1 --method rpo --lr 3e-4 --samples 8 --prompts 128 --pairing bestworst --base-lr 1e-3
CFG
wait
grep -h RESULT "$OUT"/*.log | cut -c1-400
nproc; cat /proc/cpuinfo | grep "model name" | head -1
