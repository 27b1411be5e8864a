"""Run benchmark tasks for one calculator into a results directory (resumable).

Layout of ``<out>/<label>/``::

    manifest.json              calculator, settings, per-task status / timing / result path
    <task>/result.json         the task result (TaskResult.save)
    <task>/plots/*.png         plots of this model alone
    <task>/cache/<fp>/...      finished pieces (relaxations, NEBs, trajectories, ...)

A rerun skips tasks whose result exists with the same settings fingerprint and, inside an
unfinished task, every cached piece. A results directory belongs to one calculator: running
another model into it is refused.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from umlip.bench.calculators import safe_label
from umlip.bench.jsonio import Cache, PathLike, read_json, write_json
from umlip.bench.tasks import TASKS, get_task

IDENTITY_KEYS = ("content_hash", "class", "factory", "factory_kwargs", "label", "dtype")


def parse_tasks(spec: str) -> List[str]:
    """``"all"`` or a comma list -> task names (validated, in registry order)."""
    if spec.strip() == "all":
        return list(TASKS)
    names = [s.strip() for s in spec.split(",") if s.strip()]
    for n in names:
        get_task(n)
    return [n for n in TASKS if n in names]


def _identity(info: Dict[str, Any]) -> Dict[str, Any]:
    return {k: info.get(k) for k in IDENTITY_KEYS}


def run_benchmark(calc, calculator_info: Dict[str, Any], tasks: Sequence[str],
                  out: PathLike, quick: bool = False, reference_dir: Optional[PathLike] = None,
                  backend: str = "ase", label: Optional[str] = None, progress: bool = True,
                  rerun: bool = False, plots: bool = True) -> Path:
    """Run ``tasks`` with ``calc`` into ``<out>/<label>``; returns that directory."""
    from umlip import __version__

    label = label or calculator_info.get("label", "model")
    calculator_info = dict(calculator_info, label=label)
    root = Path(out) / safe_label(label)
    root.mkdir(parents=True, exist_ok=True)
    mpath = root / "manifest.json"
    manifest = read_json(mpath) if mpath.is_file() else {"tasks": {}}
    if manifest.get("calculator") and _identity(manifest["calculator"]) != _identity(
            calculator_info):
        old = manifest["calculator"]
        raise ValueError(f"{root} holds results of another calculator ({old.get('label')}, "
                         f"{old.get('content_hash') or old.get('class')}); "
                         "choose another --out or --label")
    manifest.update({"label": label, "calculator": calculator_info,
                     "umlip_version": __version__, "reference_dir": str(reference_dir or ""),
                     "created": manifest.get("created") or time.strftime("%Y-%m-%dT%H:%M:%S")})
    for name in tasks:
        entry = manifest["tasks"].get(name, {})
        rpath = root / name / "result.json"
        t0 = time.time()
        try:
            cache = Cache(root / name / "cache")
            task = get_task(name)(quick=quick, reference_dir=reference_dir, backend=backend,
                                  progress=progress, cache=cache)
            fp = task.fingerprint()
            if not rerun and entry.get("status") == "done" and entry.get("fingerprint") == fp \
                    and rpath.is_file():
                if progress:
                    print(f"[{name}] finished earlier, skipped ({rpath})", flush=True)
                continue
            pieces = task.fingerprint(pieces=True)
            # a rerun from cached pieces takes seconds: keep the time the pieces cost
            timed = entry.get("pieces") == pieces and entry.get("status", "").startswith("done")
            spent = entry.get("compute_wall_time_s", entry.get("wall_time_s", 0.0)) \
                if timed else 0.0
            # pieces left by an interrupted earlier process: their time was never recorded
            untimed = entry.get("compute_time_incomplete", False) if timed else \
                not cache.child(pieces).empty()
            res = task.run(calc, calculator_info)
            res.save(rpath)
            pngs = task.plot(root / name / "plots") if plots else []
            wall = time.time() - t0
            entry = {"status": "done" if not res.errors else "done_with_errors",
                     "fingerprint": fp, "pieces": pieces, "quick": quick,
                     "backend": res.backend, "result": str(rpath.relative_to(root)),
                     "plots": [str(Path(p).relative_to(root)) for p in pngs],
                     "wall_time_s": wall, "compute_wall_time_s": max(wall, spent),
                     "compute_time_incomplete": untimed,
                     "piece_errors": [e["piece"] + ": " + e["error"] for e in res.errors]}
        except Exception as exc:  # noqa: BLE001 - record and continue with the other tasks
            import traceback

            entry = {"status": "failed", "quick": quick,
                     "error": f"{type(exc).__name__}: {exc}",
                     "traceback": traceback.format_exc(limit=6), "wall_time_s": time.time() - t0}
            if progress:
                print(f"[{name}] FAILED: {entry['error']}", flush=True)
        manifest = _record(mpath, manifest, name, entry)
    return root


def _record(mpath: Path, manifest: Dict[str, Any], name: str,
            entry: Dict[str, Any]) -> Dict[str, Any]:
    """Write one task's entry into the manifest on disk, re-read first: another run into
    the same directory (another task of the same model, started meanwhile) keeps its
    entries."""
    current = read_json(mpath) if mpath.is_file() else {}
    tasks = dict(current.get("tasks", {}), **{name: entry})
    manifest = dict(manifest, tasks=tasks, updated=time.strftime("%Y-%m-%dT%H:%M:%S"))
    write_json(mpath, manifest)
    return manifest


def find_result_dirs(paths: Sequence[PathLike]) -> List[Path]:
    """Result directories (with manifest.json) given themselves or their parent."""
    out: List[Path] = []
    for p in map(Path, paths):
        if (p / "manifest.json").is_file():
            out.append(p)
        elif p.is_dir():
            out += sorted(d for d in p.iterdir() if (d / "manifest.json").is_file())
        else:
            raise FileNotFoundError(f"{p} is not a directory")
    if not out:
        raise FileNotFoundError(f"no benchmark results (manifest.json) under "
                                f"{', '.join(map(str, paths))}")
    return out
