#!/bin/bash
# one bench run: $1 task, $2 method, $3 seed, then extra args
cd /work/wt-grpo
task=$1; method=$2; seed=$3; shift 3
COMMON="--rounds 2 --prompts 32 --samples 4 --sft-prompts 100 --sft-steps 150 --held-out 50 --rm-steps 2 --kl-samples 4 --policy-tokens 20000 --steps 1000 --grpo-steps 100 --prompts-per-step 8 --seed $seed --task $task"
nice -n 10 npm run bench -- loop --method $method $COMMON --out eq-$task-$method-s$seed$TAG "$@" > /tmp/grpo-bench/eq-$task-$method-s$seed$TAG.log 2>&1
echo "rc $?" >> /tmp/grpo-bench/eq-$task-$method-s$seed$TAG.log
