"""``umlip validate`` subcommands: run, report, dft-data (wired into umlip.cli)."""
from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional, Tuple


def parse_shard(spec: str) -> Tuple[int, int]:
    """``"i/n"`` (1 <= i <= n) -> ``(i - 1, n)``."""
    from umlip.validation.task import check_shard

    try:
        i, n = (int(x) for x in spec.split("/"))
    except ValueError:
        raise ValueError(f"--shard {spec!r}: expected i/n, e.g. 1/4") from None
    try:
        return check_shard((i - 1, n))
    except ValueError as exc:
        raise ValueError(f"--{exc}") from None


def shard_device(device: str, k: int, n_gpus: int) -> str:
    """The device of --jobs child ``k`` (0-based): a bare ``cuda`` goes round-robin over the
    node's ``n_gpus`` GPUs (``cuda:k % n_gpus``); anything else (cpu, cuda:N) is kept.
    Untested on a GPU (this project has none)."""
    if device == "cuda" and n_gpus > 1:
        return f"cuda:{k % n_gpus}"
    return device


def _run_args(args, threads: Optional[int], device: str) -> List[str]:
    """The ``validate run`` options of ``args`` as a command line (for the --jobs children)."""
    out = ["--model", args.model] if args.model else ["--calculator", args.calculator]
    for flag, val in (("--calculator-kwargs", args.calculator_kwargs), ("--tasks", args.tasks),
                      ("--out", args.out), ("--label", args.label), ("--dtype", args.dtype),
                      ("--device", device), ("--backend", args.backend),
                      ("--reference-dir", args.reference_dir),
                      ("--threads", None if threads is None else str(threads))):
        if val is not None:
            out += [flag, val]
    return out + [f for f, on in (("--quick", args.quick), ("--rerun", args.rerun)) if on]


def _run_shards(args, started: float) -> None:
    """``--jobs n``: n processes ``--shard k/n`` on this machine; their logs in
    ``<out>/logs/``. Returns when all have ended (Ctrl-C stops them)."""
    import os
    import subprocess
    import time
    from pathlib import Path

    n = args.jobs
    threads = args.threads or max(1, (os.cpu_count() or 1) // n)
    n_gpus = 0
    if args.device == "cuda":
        import torch

        n_gpus = torch.cuda.device_count()
    logs = Path(args.out) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    procs = []
    try:
        for k in range(1, n + 1):
            log = logs / f"run-{stamp}-shard{k}of{n}.log"
            dev = shard_device(args.device, k - 1, n_gpus)
            cmd = [sys.executable, "-m", "umlip", "validate", "run",
                   *_run_args(args, threads, dev),
                   "--shard", f"{k}/{n}", "--started", repr(started), "--no-progress"]
            procs.append((k, log, subprocess.Popen(cmd, stdout=open(log, "w"),
                                                   stderr=subprocess.STDOUT)))
        print(f"{n} shards running ({threads} thread(s) each), logs: {logs}/run-{stamp}-*",
              flush=True)
        for k, log, p in procs:
            rc = p.wait()
            print(f"shard {k}/{n} ended (exit {rc}; {log})", flush=True)
    finally:
        for _, _, p in procs:
            if p.poll() is None:
                p.terminate()


def _lammps_model(args):
    """The model of ``--backend lammps``: the file of ``--model`` (a known name is exported
    into the cache first), ``--dtype``, ``--device``, ``--threads``."""
    from umlip.models import resolve
    from umlip.validation.md import LAMMPSModel

    if args.backend != "lammps":
        return None
    if not args.model:
        raise ValueError("--backend lammps runs a umlip model file: give --model, not "
                         "--calculator")
    return LAMMPSModel(file=str(resolve(args.model)), dtype=args.dtype, device=args.device,
                       threads=args.threads)


def _cmd_run(args) -> int:
    from umlip.validation.calculators import make_calculator
    from umlip.validation.report import load_results, summary_table
    from umlip.validation.runner import RunOptions, parse_tasks, run_benchmark

    import time

    started = time.time()
    tasks = parse_tasks(args.tasks)
    shard = parse_shard(args.shard) if args.shard else (0, 1)
    lammps_model = _lammps_model(args)      # before --jobs: a known model is exported once
    if args.jobs < 1:
        raise ValueError(f"--jobs {args.jobs}: need at least 1")
    if args.jobs > 1:
        if args.shard:
            raise ValueError("--jobs and --shard exclude each other")
        _run_shards(args, started)  # then finish here: whatever a failed shard left undone
    kwargs = json.loads(args.calculator_kwargs) if args.calculator_kwargs else None
    calc, info = make_calculator(model=args.model, calculator=args.calculator,
                                 calculator_kwargs=kwargs, dtype=args.dtype,
                                 device=args.device, num_threads=args.threads)
    options = RunOptions(quick=args.quick, reference_dir=args.reference_dir,
                         backend=args.backend, lammps_model=lammps_model,
                         label=args.label, progress=not args.no_progress,
                         rerun=args.rerun and args.jobs <= 1, shard=shard,
                         started=args.started or started)
    root = run_benchmark(calc, info, tasks, args.out, options)
    man, res = load_results(root)
    print(f"\nresults: {root}")
    print(summary_table({man["label"]: res}))
    # a shard's partial task is fine unless one of its own pieces failed
    ok = [n for n, e in man["tasks"].items()
          if e["status"] == "done" or (e["status"] == "partial" and not e.get("piece_errors"))]
    bad = {n: e for n, e in man["tasks"].items() if n in tasks and n not in ok}
    for n, e in man["tasks"].items():
        if n in tasks and e["status"] == "partial":
            print(f"{n}: partial: pieces left to other shards; the last shard to finish "
                  "writes the result", file=sys.stderr)
    for n, e in bad.items():
        print(f"{n}: {e['status']}: {e.get('error') or '; '.join(e.get('piece_errors', []))}",
              file=sys.stderr)
    return 1 if bad else 0


def _cmd_report(args) -> int:
    from umlip.validation.report import write_report

    print(write_report(args.results, args.output))
    return 0


def _cmd_dft_data(args) -> int:
    from umlip.validation.dft_data import describe_status, dft_data_status

    st = dft_data_status(args.reference_dir)
    print(describe_status(st))
    return 1 if any(s["state"] == "invalid" for s in st) else 0


def add_validate_parser(sub) -> None:
    """Add ``validate`` (with run / report / dft-data) to the umlip subparsers."""
    from umlip.cli import HelpFormatter

    b = sub.add_parser("validate", help="reactive-events validation suite vs DFT",
                       formatter_class=HelpFormatter)
    bs = b.add_subparsers(dest="validate_command", required=True, metavar="COMMAND")

    r = bs.add_parser("run", help="run validation tasks for one model into a results dir",
                      formatter_class=HelpFormatter)
    g = r.add_mutually_exclusive_group(required=True)
    g.add_argument("--model", help="model file or known name (7net-0, 7net-l3i5, ...)")
    g.add_argument("--calculator", help="importable ASE calculator factory 'module:factory', "
                                        "e.g. umlip.validation.analytic:toy_calculator")
    r.add_argument("--calculator-kwargs", help="JSON dict of keyword arguments for the factory")
    r.add_argument("--tasks", default="all", help="'all' or a comma list of: dissociation, "
                   "h2_cu111, adatom, reactive_md, hot_md, phonons")
    r.add_argument("--out", default="results", help="results root; writes <out>/<label>/")
    r.add_argument("--label", help="name of the model in the results (default: the model or "
                                    "factory name)")
    r.add_argument("--quick", "--smoke", action="store_true",
                   help="tiny settings (few trajectories, short MD, coarse meshes) for tests")
    r.add_argument("--dtype", default="float64", choices=["float32", "float64"],
                   help="umlip model precision")
    r.add_argument("--device", default="cpu",
                   help="cpu (tested), cuda or cuda:N (untested: no GPU here; also passed to "
                        "the LAMMPS pair style); with --jobs a bare cuda is spread over the "
                        "node's GPUs, process k on cuda:k%%n")
    r.add_argument("--threads", type=int, help="torch intra-op threads")
    r.add_argument("--backend", default="ase", choices=["ase", "lammps"],
                   help="MD backend of reactive_md / hot_md (lammps: pair_style umlip, "
                        "needs --model)")
    r.add_argument("--reference-dir", help="DFT reference JSON directory (default: "
                   "$UMLIP_VALIDATION_DATA or the package's validation/data)")
    r.add_argument("--rerun", action="store_true",
                   help="recompute finished task results (cached pieces are still reused)")
    r.add_argument("--no-progress", action="store_true",
                   help="no progress lines on stderr")
    r.add_argument("--jobs", type=int, default=1,
                   help="run n processes on this machine that split the MD tasks' "
                        "trajectories (reactive_md) and systems (hot_md); threads per "
                        "process: --threads or cores/n")
    r.add_argument("--started", type=float, help=argparse.SUPPRESS)  # set by --jobs
    r.add_argument("--shard", metavar="I/N",
                   help="be shard I of N processes (e.g. array jobs of a cluster, one "
                        "results dir): compute only this shard's MD pieces; the last shard to "
                        "finish writes the result")
    r.set_defaults(func=_cmd_run)

    p = bs.add_parser("report", help="Markdown report comparing results dirs side by side",
                      formatter_class=HelpFormatter)
    p.add_argument("results", nargs="+", help="results dirs (<out>/<label>) or their parent")
    p.add_argument("-o", "--output", default="report", help="report directory")
    p.set_defaults(func=_cmd_report)

    f = bs.add_parser("dft-data", help="check the DFT data files (hash, completeness)",
                      formatter_class=HelpFormatter)
    f.add_argument("--reference-dir", help="DFT data directory (default: "
                   "$UMLIP_VALIDATION_DATA or the package's validation/data)")
    f.set_defaults(func=_cmd_dft_data)
