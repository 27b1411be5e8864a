"""``umlip finetune`` subcommands: pool, rank, train, heldout, report (wired into umlip.cli)."""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path


def _cmd_pool(args) -> int:
    from umlip.finetune.pool import build_pool, write_pool

    pool = build_pool(args.base, quick=args.quick, seed=args.seed)
    path = write_pool(args.out, pool)
    sources = Counter(c["provenance"]["source"] for c in pool["configs"])
    print(f"wrote {path}: {len(pool['configs'])} configurations ("
          + ", ".join(f"{n} {k}" for k, n in sources.items())
          + f") in {pool['wall_time_s']:.0f} s; rankings: {', '.join(pool['rankings'])}")
    return 0


def _cmd_train(args) -> int:
    from umlip.finetune.heldout import check_disjoint, heldout_records
    from umlip.finetune.labels import read_labels, reference_settings
    from umlip.finetune.pool import read_pool, training_set
    from umlip.finetune.train import finetune_mace, finetune_sevenn
    from umlip.io import write_json

    if args.mace_model and args.variant != "plain":
        raise ValueError("MACE fine-tuning here is plain (mace-torch's naive fine-tuning); "
                         "--variant replay is SevenNet's")
    pool = read_pool(args.pool)
    labels = Path(args.labels or Path(args.pool).parent / "labels")
    ids = training_set(pool, args.strategy, args.rank_seed, args.budget)
    check_disjoint(ids, heldout_records())
    found = read_labels(labels, ids, reference_settings())
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValueError(f"{len(missing)} of the {len(ids)} configurations have no DFT label in "
                         f"{labels} (first: {missing[0]}); compute them with "
                         f"dft/finetune_labels.py {args.pool} {args.strategy} {args.rank_seed} "
                         f"{args.budget}")
    records = [found[i] for i in ids]
    log = lambda m: print(m, file=sys.stderr)      # noqa: E731
    if args.mace_model:
        prov = finetune_mace(args.mace_model, records, Path(args.output), epochs=args.epochs,
                             seed=args.seed, lr=args.lr, log=log)
    else:
        prov = finetune_sevenn(pool["base_model"]["name"], records, Path(args.output),
                               epochs=args.epochs, seed=args.seed, variant=args.variant,
                               lr=args.lr, log=log)
    prov.update(strategy=args.strategy, rank_seed=args.rank_seed, pool=str(args.pool))
    write_json(Path(args.output).with_suffix(".json"), prov)
    print(f"wrote {args.output} ({prov['variant']}, {prov['n_train']} configurations, "
          f"{prov['epochs']} epochs, seed {prov['seed']}, {prov['wall_time_s']:.0f} s)")
    return 0


def _cmd_rank(args) -> int:
    from umlip.finetune.pool import add_committee_ranking, read_pool, write_pool
    from umlip.progress import Progress

    pool = read_pool(args.pool)
    bar = Progress("committee deviation", total=len(pool["configs"]))
    add_committee_ranking(pool, args.committee, progress=lambda k, n: bar.update())
    bar.close()
    write_pool(args.pool, pool)
    dev = pool["committee"]["max_devi_f"]
    top = [dev[i] for i in pool["rankings"]["committee:0"][:8]]
    print(f"wrote ranking committee:0 to {args.pool}: max force deviation {min(dev):.3f}-"
          f"{max(dev):.3f} eV/Å over the pool, first 8 {min(top):.3f}-{max(top):.3f}")
    return 0


def _cmd_heldout(args) -> int:
    from umlip import UMLIPCalculator
    from umlip.finetune.heldout import (check_disjoint, drift_from_base, evaluate,
                                        heldout_records, merge_results)
    from umlip.finetune.pool import read_pool
    from umlip.io import read_json, write_json

    records = heldout_records()
    if args.pool:
        check_disjoint([c["id"] for c in read_pool(args.pool)["configs"]], records)
    rows = {}
    base = UMLIPCalculator(args.base, dtype="float64")
    print(f"{'model':<32} {'E_bind MAE':>10} {'max |dE|':>9} {'F MAE':>7} {'F max':>7} "
          f"{'far: dE/atom':>12} {'far: dF':>8}")
    for model in args.models:
        calc = UMLIPCalculator(model, dtype="float64")
        res = evaluate(calc, records)
        res["far_from_target_vs_base"] = drift_from_base(calc, base)
        rows[model] = res
        far = res["far_from_target_vs_base"]
        print(f"{Path(model).stem:<32} {res['energy_mae']:>10.3f} {res['energy_max_abs']:>9.3f} "
              f"{res['force_mae']:>7.3f} {res['force_max']:>7.3f} "
              f"{far['energy_mae_per_atom']:>12.4f} {far['force_mae']:>8.3f}")
    print(f"({rows[args.models[0]]['n_configs']} binding energies [eV], forces on "
          f"{rows[args.models[0]]['n_force_atoms']} free atoms [eV/Å], model - DFT; far: "
          f"model - {args.base} on structures away from the target [eV/atom, eV/Å], no DFT)")
    if args.out:
        doc = {"configs": [{k: r[k] for k in ("name", "id")} for r in records], "models": rows}
        if args.merge and Path(args.out).is_file():
            doc = merge_results(read_json(args.out), doc)
        write_json(args.out, doc)
    return 0


def _cmd_report(args) -> int:
    from umlip.finetune.report import write_finetune_report

    out = write_finetune_report(args.base_run, args.runs, args.out, heldout=args.heldout,
                                pool=args.pool)
    pngs = ", ".join(sorted(p.name for p in Path(out).glob("*.png")))
    print(f"wrote {out}/README.md, {pngs}, data.json")
    return 0


def add_finetune_parser(sub) -> None:
    from umlip.cli import HelpFormatter
    from umlip.finetune.pool import DEFAULT_COMMITTEE

    f = sub.add_parser("finetune", formatter_class=HelpFormatter,
                       help="fine-tune a foundation model for H2 on Cu(111) with a few DFT "
                            "labels (pool -> dft/finetune_labels.py -> train)")
    fs = f.add_subparsers(dest="finetune_command", required=True, metavar="STEP")
    p = fs.add_parser("pool", formatter_class=HelpFormatter,
                      help="candidate configurations from the base model's MD, NEB and "
                           "relaxations, ranked (random, farthest-point)")
    p.add_argument("--base", default="7net-0", help="base model name or file")
    p.add_argument("-o", "--out", required=True, help="pool file to write (.json)")
    p.add_argument("--seed", type=int, help="sampling seed (default: the pool settings')")
    p.add_argument("--quick", action="store_true", help="a small pool, for a smoke test")
    p.set_defaults(func=_cmd_pool)
    t = fs.add_parser("train", formatter_class=HelpFormatter,
                      help="fine-tune the pool's base model on the first BUDGET labelled "
                           "configurations of a ranking, with the family's own trainer")
    t.add_argument("pool", help="pool file")
    t.add_argument("--labels", help="label folder (default: labels/ next to the pool)")
    t.add_argument("--strategy", default="fps", choices=["fps", "random", "committee"],
                   help="ranking the training set is the first BUDGET of")
    t.add_argument("--rank-seed", type=int, default=0, help="seed of the ranking (default: 0)")
    t.add_argument("--budget", type=int, required=True, help="number of DFT configurations")
    t.add_argument("--epochs", type=int, default=100, help="training epochs")
    t.add_argument("--seed", type=int, default=1, help="training seed")
    t.add_argument("--lr", type=float, default=0.001, help="Adam learning rate")
    t.add_argument("--variant", default="plain", choices=["plain", "replay"],
                   help="plain fine-tuning, or with replay of base-model pseudo-labels on "
                        "general structures")
    t.add_argument("--mace-model", help="fine-tune this mace-torch model file (.model) with "
                                        "mace-torch's trainer instead of the pool's SevenNet "
                                        "base model")
    t.add_argument("-o", "--output", required=True, help="model file to write (.pt)")
    t.set_defaults(func=_cmd_train)
    r = fs.add_parser("rank", formatter_class=HelpFormatter,
                      help="add the committee-disagreement ranking (committee:0) to a pool")
    r.add_argument("pool", help="pool file (rewritten with the ranking)")
    r.add_argument("--committee", nargs="+", default=list(DEFAULT_COMMITTEE),
                   help="committee model files or names")
    r.set_defaults(func=_cmd_rank)
    h = fs.add_parser("heldout", formatter_class=HelpFormatter,
                      help="errors of models on the held-out DFT set (the reference's relaxed "
                           "states and CI-NEB path, never in a pool)")
    h.add_argument("models", nargs="+", help="model files or names")
    h.add_argument("--pool", help="also check that this pool holds no held-out configuration")
    h.add_argument("--base", default="7net-0",
                   help="base model: each model's drift from it away from the target")
    h.add_argument("-o", "--out", help="write every error to this JSON file")
    h.add_argument("--merge", action="store_true",
                   help="keep the other models already in --out (same held-out set); the "
                        "models given are evaluated again")
    h.set_defaults(func=_cmd_heldout)
    o = fs.add_parser("report", formatter_class=HelpFormatter,
                      help="learning curves, forgetting and the zero-shot vs fine-tuned table "
                           "from validation runs")
    o.add_argument("base_run", help="validation run folder of the base model")
    o.add_argument("runs", help="folder of the fine-tuned models' validation runs (labels "
                                "<base>-ft<budget>-<strategy><rank seed>-s<seed>[-<variant>])")
    o.add_argument("-o", "--out", required=True, help="report folder")
    o.add_argument("--heldout", help="held-out errors (umlip finetune heldout -o)")
    o.add_argument("--pool", help="pool file (for the DFT cost per budget)")
    o.set_defaults(func=_cmd_report)
