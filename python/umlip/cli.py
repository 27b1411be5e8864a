"""The ``umlip`` command line.

    umlip export sevenn 7net-0 -o 7net-0.pt       export a model to the umlip model contract
    umlip export mace model.model -o mace.pt
    umlip resolve 7net-0                          path of a model file for a name (exports once)
    umlip info 7net-0.pt                          the metadata of a model file
    umlip models                                  the model names umlip knows
    umlip selftest 7net-0                         ASE vs LAMMPS (1 and 2 ranks), NVE drift
    umlip validate run --model 7net-0 --out results  reactive-events validation vs DFT
    umlip validate report results/ -o report/        Markdown report, models side by side
"""
from __future__ import annotations

import argparse
import json
import sys


def _cmd_export(args) -> int:
    from umlip.families import export
    from umlip.progress import step

    if args.family == "sevenn" and ":" in args.source and args.modal is None:
        args.source, args.modal = args.source.split(":", 1)
    with step(f"exporting {args.source} ({args.family}) to {args.output} and checking it "
              f"against the family's own calculator", expected=35,
              label=f"exporting {args.source}"):
        export(args.family, args.source, args.output, dtype=args.dtype, modal=args.modal,
               head=args.head, name=args.name, kernels=args.kernels)
    from umlip import engine

    m = engine.Model(args.output)
    print(f"wrote {args.output}: {m.family} {m.family_version} '{m.name}', "
          f"{len(m.atomic_numbers)} elements, cutoff {m.cutoff} Å, {m.num_layers} layers, "
          f"{m.file_dtype} (runs in {', '.join(m.dtypes)}), {m.content_hash}")
    return 0


def _cmd_resolve(args) -> int:
    """The model file for a name or file, for programs (the LAMMPS pair style) to read.

    Protocol: on success the file's path is the only output on stdout, and the exit status is
    0. Anything else (progress of a first export) goes to stderr. On failure the exit status
    is 1 and the last line on stderr is one line ``umlip: ...`` saying what to do."""
    import contextlib

    try:
        with contextlib.redirect_stdout(sys.stderr):
            path = _resolve_for_program(args.model)
    except Exception as exc:  # noqa: BLE001 - every failure becomes the protocol's one line
        message = " ".join(_resolve_error(args.model, exc).split())
        print(f"umlip: {message}", file=sys.stderr, flush=True)
        return 1
    print(path, flush=True)
    return 0


def _resolve_for_program(model: str) -> str:
    """resolve(): a first export reports its progress on stderr; an unusable export
    interpreter or cache directory fails before that, so the failure is the only output."""
    from umlip.models import resolve

    return str(resolve(model))


def _resolve_error(model: str, exc: Exception) -> str:
    """One line for a failed resolve, naming the setting to change where there is one."""
    from umlip.models import CacheDirError, cache_dir

    if isinstance(exc, CacheDirError):
        return str(exc)
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError) or (
            isinstance(exc, FileNotFoundError) and exc.filename is not None
            and str(cache_dir()) in str(exc.filename)):
        reason = exc.strerror or str(exc)
        return (f"cannot use the model cache directory {cache_dir()} ({reason}); set "
                f"UMLIP_CACHE_DIR to a writable directory")
    return str(exc) or type(exc).__name__


def _cmd_info(args) -> int:
    from umlip import engine
    from umlip.models import resolve

    m = engine.Model(str(resolve(args.model)))
    meta = json.loads(m.metadata_json)
    if args.json:
        print(json.dumps(meta, indent=1, sort_keys=True))
        return 0
    from umlip.engine import element_symbol

    print(f"file:        {m.path}")
    print(f"name:        {m.name} ({m.family} {m.family_version})")
    print(f"contract:    {m.contract_version}, content hash {m.content_hash} (verified)")
    print(f"elements:    {' '.join(element_symbol(z) for z in m.atomic_numbers)}")
    print(f"cutoff:      {m.cutoff} Å x {m.num_layers} layers "
          f"(interaction range {m.cutoff * m.num_layers} Å)")
    print(f"dtype:       {m.file_dtype} (verified: {', '.join(m.dtypes)})")
    kernels = (meta.get("options") or {}).get("kernels", "e3nn")
    what = "umlip's batched kernels" if kernels == "batched" else "the family's own modules"
    print(f"kernels:     {kernels} (convolutions on {what})")
    if meta.get("self_check"):
        sc = meta["self_check"]
        print(f"self-check:  vs {sc['reference']} in {sc['dtype']}: max |dE| "
              f"{sc['max_abs_dE_per_atom']:.2e} eV/atom, max |dF| {sc['max_abs_dF']:.2e} eV/Å")
    return 0


def _cmd_models(args) -> int:
    from umlip.models import KNOWN_MODELS, MACE_HINT, cached_path

    for name, km in KNOWN_MODELS.items():
        state = "cached" if cached_path(name).is_file() else "exported on first use"
        print(f"{name:18s} {km.family:7s} {km.description}  [{state}]")
    print(f"\n{MACE_HINT}")
    return 0


def _cmd_selftest(args) -> int:
    from umlip.selftest import main as selftest_main

    return selftest_main(args)


class HelpFormatter(argparse.HelpFormatter):
    """Help with the default appended where there is a meaningful one (not None/False)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if ("%(default)" not in text and action.default not in (None, False, argparse.SUPPRESS)
                and action.option_strings and action.nargs != 0):
            text += " (default: %(default)s)"
        return text


def _version() -> str:
    import umlip

    return f"umlip {getattr(umlip, '__version__', 'unknown')}"


def build_parser() -> argparse.ArgumentParser:
    from umlip.families import KERNELS

    p = argparse.ArgumentParser(prog="umlip", description="umlip: uMLIPs in LAMMPS and ASE",
                                formatter_class=HelpFormatter)
    p.add_argument("--version", action="version", version=_version(),
                   help="print the umlip version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, **kwargs):
        return sub.add_parser(name, formatter_class=HelpFormatter, **kwargs)

    e = add("export", help="export a model to the umlip model contract")
    e.prog = "umlip export"
    e.add_argument("family", choices=["sevenn", "mace"], help="model family of the source")
    e.add_argument("source", help="checkpoint / .model file, or a name shipped with the family "
                                  "package (7net-0, 7net-0_22may2024, 7net-l3i5, 7net-mf-0)")
    e.add_argument("-o", "--output", required=True, help="model file to write (.pt)")
    e.add_argument("--dtype", choices=["float32", "float64"],
                   help="dtype of the weights in the file (default: the model's own)")
    e.add_argument("--modal", help="fidelity of a SevenNet multi-fidelity model (e.g. PBE)")
    e.add_argument("--head", help="head of a multi-head MACE model")
    e.add_argument("--name", help="name recorded in the metadata")
    e.add_argument("--kernels", choices=list(KERNELS),
                   help="batched (default): umlip's re-expression of the convolutions (same "
                        "numbers, faster); e3nn: the family's own modules")
    e.set_defaults(func=_cmd_export)

    r = add("resolve", help="print the model file for a name or file")
    r.add_argument("model", help="model file or known model name (see `umlip models`)")
    r.set_defaults(func=_cmd_resolve)

    i = add("info", help="show a model file's metadata")
    i.add_argument("model", help="model file or known model name")
    i.add_argument("--json", action="store_true", help="print the metadata as JSON")
    i.set_defaults(func=_cmd_info)

    m = add("models", help="list known model names (and how to get MACE models)")
    m.set_defaults(func=_cmd_models)

    s = add("selftest", help="compare ASE and LAMMPS (1 and 2 MPI ranks) on one model and "
                             "report the NVE energy drift")
    s.add_argument("model", nargs="?", default="7net-0",
                   help="model file or known model name (default: 7net-0)")
    s.add_argument("--steps", type=int, default=200, help="NVE steps (0: no NVE)")
    s.add_argument("--ranks", type=int, nargs="+", default=[1, 2],
                   help="MPI rank counts to compare with ASE")
    s.add_argument("--ghost", choices=["auto", "graph", "replicate", "layer"],
                   help="ghost mode of pair style umlip on more than one rank (default: layer "
                        "for layered model files, else graph: the modes that split the work; "
                        "auto lets the pair style choose, which is replicate for this small "
                        "system)")
    s.set_defaults(func=_cmd_selftest)

    # ---- validate: the reactive-events validation suite against DFT (umlip.validation) ----
    from umlip.validation.cli import add_validate_parser

    add_validate_parser(sub)

    # ---- finetune: localized fine-tuning with a few DFT labels (umlip.finetune) -----------
    from umlip.finetune.cli import add_finetune_parser

    add_finetune_parser(sub)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        try:
            rc = args.func(args)
        except (ValueError, FileNotFoundError, RuntimeError) as exc:
            prog = f"umlip {args.command}"
            print(f"{prog}: error: {exc}", file=sys.stderr)
            return 2 if isinstance(exc, ValueError) else 1
        sys.stdout.flush()
        return rc
    except BrokenPipeError:
        # the reader went away (`umlip models | head -1`): not an error of ours; silence the
        # flush at exit too
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
