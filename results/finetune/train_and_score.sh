#!/usr/bin/env bash
# Train and score the fine-tuned SevenNet-0 models of one training set once its DFT labels exist:
#   bash results/finetune/train_and_score.sh STRATEGY RANK_SEED BUDGET [SEED ...]
# e.g. `... fps 0 16` (seeds 1 2 3 by default; VARIANT=replay for sevenn's rehearsal, model
# names then end in -replay). Waits until dft/finetune_labels.py has
# written every label of the set, then per seed: umlip finetune train (50 epochs), the
# validation tasks of the report (h2_cu111 adatom dissociation phonons) into
# results/finetune/7net-0/runs, and at the end the held-out errors of these models, merged
# into results/finetune/7net-0/heldout.json. Run from the repository root.
set -euo pipefail
strategy=$1 rseed=$2 budget=$3
shift 3
seeds=("$@")
[ ${#seeds[@]} -eq 0 ] && seeds=(1 2 3)
root=results/finetune/7net-0
umlip=${UMLIP:-.venv/bin/umlip}
py=${PYTHON:-.venv/bin/python}
until $py - "$root" "$strategy" "$rseed" "$budget" <<'PY'
import pathlib
import sys

from umlip.finetune.pool import read_pool, training_set

root, st, rs, b = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ids = training_set(read_pool(f"{root}/pool.json"), st, rs, b)
sys.exit(0 if all((pathlib.Path(root) / "labels" / f"{i}.json").is_file() for i in ids) else 1)
PY
do sleep 30; done
variant=${VARIANT:-plain}
suffix=""
[ "$variant" = plain ] || suffix=-$variant
models=()
for s in "${seeds[@]}"; do
  name=ft$budget-$strategy$rseed-s$s$suffix
  models+=("$root/models/$name.pt")
  # an interrupted training resumes from its last checkpoint when run again
  [ -f $root/models/$name.pt ] || $umlip finetune train $root/pool.json --strategy "$strategy" \
      --rank-seed "$rseed" --budget "$budget" --epochs 50 --seed "$s" --variant "$variant" \
      -o $root/models/$name.pt
  $umlip validate run --model $root/models/$name.pt --tasks h2_cu111,adatom,dissociation,phonons \
      --label 7net-0-$name --out $root/runs --no-progress --threads 1 > /dev/null
  echo "done $name"
done
# the models of this set, merged into the file (model files not committed keep their rows)
$umlip finetune heldout 7net-0 "${models[@]}" --pool $root/pool.json -o $root/heldout.json \
    --merge
