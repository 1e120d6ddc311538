#!/usr/bin/env bash
# sweep 3: upper bound of what a round's data can add: SFT from the bootstrap on gold completions of fresh prompts
cd "$(dirname "$0")"
C="--init boot600 --sft-prompts 600 --held-out 500 --base-lr 3e-4 --baseline-curve 12000,24000"
while read -r name args; do
  [ -z "$name" ] && continue
  ( timeout 170 node proto.cjs $C $args --out "$OUT/$name.json" > "/tmp/$name.log" 2>&1 ) &
done <<CFG
g1_demos              --extra-gold 0
g2_fresh300_only      --extra-gold 300 --only-extra 1
g3_demos_plus300      --extra-gold 300
g4_fresh1000_only     --extra-gold 1000 --only-extra 1
g5_demos_plus1000     --extra-gold 1000
CFG
wait
for f in /tmp/g*.log; do echo "== $f"; cut -c1-200 "$f"; done > "$OUT/all_logs.txt"
