"""Markdown report from one or more results directories (one per model).

    umlip validate report results/7net-0 results/7net-l3i5 -o report/

writes ``report/README.md`` with ONE summary table comparing the models side by side (DFT
column where a reference exists; model cells show value and deviation from DFT), reference
provenance, and one section per task with plots overlaying all models
(``report/plots/*.png``), notes and failures.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from umlip.io import PathLike, read_json
from umlip.validation.runner import find_result_dirs
from umlip.validation.task import Metric, TaskResult
from umlip.validation.tasks import TASKS, load_result
from umlip.validation.uncertainty import Uncertainty, reference_uncertainties, within


def load_results(result_dir: Path) -> Tuple[Dict[str, Any], Dict[str, TaskResult]]:
    """(manifest, {task: result}) of one results directory."""
    manifest = read_json(result_dir / "manifest.json")
    res = {}
    for name, entry in manifest.get("tasks", {}).items():
        p = result_dir / name / "result.json"
        if entry.get("status", "").startswith("done") and p.is_file():
            res[name] = load_result(p)
            res[name].source_dir = p.parent    # its cached pieces (not serialized)
    return manifest, res


def _status(entry: Dict[str, Any]) -> str:
    """A manifest task entry's status; a shard's partial entry says what it waits for."""
    if entry.get("status") == "partial":
        return (f"partial (shard {entry.get('shard', '?')} done, "
                f"{entry.get('pieces_left_to_other_shards', '?')} pieces with other shards)")
    return str(entry.get("status"))


def fmt(v: Optional[float], unit: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, bool):
        return str(v)
    if float(v).is_integer() and unit in ("", "K"):
        return f"{int(v)}"
    a = abs(v)
    if a != 0 and (a < 1e-3 or a >= 1e5):
        return f"{v:.2e}"
    return f"{v:.3f}"


def summary_table(models: Dict[str, Dict[str, TaskResult]],
                  uncertainties: Optional[Dict[str, Uncertainty]] = None) -> str:
    """The side-by-side table: rows = metrics (task order), columns = DFT + models.

    A DFT cell shows the reference's own uncertainty (``uncertainties``, default: from the
    packaged reference files; ``± ?`` where the file holds no estimate); a model deviation
    smaller than it is marked "within DFT ±u" (the reference does not resolve it)."""
    if uncertainties is None:
        uncertainties = reference_uncertainties()
    rows: Dict[str, Dict[str, Any]] = {}
    for label, results in models.items():
        for tname in TASKS:
            r = results.get(tname)
            if r is None:
                continue
            for m in r.summary():
                row = rows.setdefault(m.key, {"metric": m, "task": tname, "cells": {}})
                if row["metric"].reference is None and m.reference is not None:
                    row["metric"] = m
                row["cells"][label] = m
    labels = list(models)
    head = "| Metric | Unit | DFT | " + " | ".join(labels) + " |"
    sep = "|---|---|---|" + "---|" * len(labels)
    lines = [head, sep]
    for key, row in sorted(rows.items(), key=lambda kv: list(TASKS).index(kv[1]["task"])):
        m0: Metric = row["metric"]
        u = uncertainties.get(key)
        cells = []
        for lab in labels:
            m = row["cells"].get(lab)
            if m is None:
                cells.append("n/a")
                continue
            txt = fmt(m.value, m.unit)
            err = m.error
            if err is None and m.value is not None and m0.reference is not None:
                err = m.value - m0.reference
            if err is not None:
                mark = f"; within DFT ±{fmt(u.value, m.unit)}" if within(err, u) else ""
                txt += f" ({'+' if err >= 0 else ''}{fmt(err, m.unit)}{mark})"
            if m.value is None and m.note:
                txt = m.note
            if m.backend:              # which engine made this cell's number
                txt += f" [{m.backend}]"
            if m.value is not None and m.note:   # e.g. a CI, an unconverged NEB
                txt += f" <br>{m.note}"
            cells.append(txt)
        dft = fmt(m0.reference, m0.unit)
        if m0.reference is not None:
            dft += f" ± {fmt(u.value, m0.unit)}" if u is not None else " ± ?"
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in [
            m0.label, m0.unit, dft] + cells) + " |")
    return "\n".join(lines)


def how_to_read(models: Dict[str, Dict[str, TaskResult]],
                uncertainties: Optional[Dict[str, Uncertainty]] = None) -> List[str]:
    """The "How to read this report" section: what the rows measure, where the DFT
    uncertainties come from, and which differences the sample sizes resolve."""
    from umlip.validation.stats import fisher_exact, smallest_resolvable_difference

    if uncertainties is None:
        uncertainties = reference_uncertainties()
    out = ["## How to read this report", "",
           "- **Rows.** Dissociation: each curve against PySCF PBE; the headline MAEs cover "
           "the chemically relevant window (the compressed wall cut where DFT is 2 eV above the "
           "minimum; the stretched side whole), the full-range rows add the wall, where "
           "a few points far up the wall dominate any mean. De is against each method's "
           "own dissociation limit (isolated atoms); "
           "for models trained without isolated atoms it mostly measures their per-element "
           "reference energies. H/H2 on Cu(111), Cu adatom, phonons: GPAW PBE (PAW) at the "
           "DFT lattice constant, for the models too (their own is in the Cu lattice-constant "
           "row; a smaller a0 alone raises Cu frequencies). H2 dissociation on Cu(111) has "
           "two routes: over a top site (the rows without a route name) and "
           "bridge-to-hollow (PBE's lowest; the rows so named), each a DFT CI-NEB; 'on the "
           "DFT path' is the model's energy at the DFT images, free of where the model's own "
           "path goes. "
           "Reactive MD: counts of outcomes of H2 shot at Cu(111); the drift rows measure "
           "NVE energy conservation, not accuracy. Hot MD: the first temperature at which a "
           "single run shows an unphysical event.",
           "- **DFT uncertainty.** A DFT cell reads value ± u, u being the reference's own "
           "numerical spread at its level of theory; ± ? means the reference file holds no "
           "estimate. A model deviation below u is marked *within DFT ±u*: it is not "
           "resolved. For the molecules' De and r_eq, u also covers the level: all-electron "
           "vs PAW PBE (GPAW setups, molecules_paw.json; at most 0.03 eV and 0.002 Å). "
           "One level difference is not in u and is larger: non-relativistic Cu2 (scalar "
           "relativity: r_eq -0.032 Å, De +0.147 eV; ABOUT.md, 'Cu2: the "
           "scalar-relativistic level'). "
           "Sources:"]
    by_src: Dict[str, List[str]] = {}
    for k, u in uncertainties.items():
        by_src.setdefault(u.source, []).append(f"`{k}` ±{fmt(u.value)}")
    out += [f"  - {src}: {', '.join(keys)}" for src, keys in by_src.items()]
    ns = sorted({row["n"] for res in models.values() if "reactive_md" in res
                 for row in res["reactive_md"].energies})
    if ns:
        n = ns[0]
        d = smallest_resolvable_difference(n)
        out.append(f"- **Sample sizes.** P(dissociation) rests on {n} trajectories per energy "
                   f"and model: two models differ significantly (two-sided Fisher exact, 5%) "
                   f"at every baseline only if their counts differ by {d} or more "
                   f"(e.g. {n * 3 // 5}/{n} vs {n * 3 // 10}/{n}: p = "
                   f"{fisher_exact(n * 3 // 5, n, n * 3 // 10, n):.2f}, not significant). The "
                   "reactive-MD section lists every pair. Hot MD is one run per model and "
                   "temperature: a failure temperature is one event, not a rate. The other "
                   "rows are deterministic; their resolution is the DFT ±u.")
    return out + [""]


def _references_section(models: Dict[str, Dict[str, TaskResult]]) -> List[str]:
    """One row per reference file: the state of the newest version any result read. A task
    that depends on only a few values of a file (``Task.reads_whole_references`` false: the
    MD tasks take the lattice constant) may have read an older version without harm, so only
    the others count towards the "different versions" warning."""
    seen: Dict[str, Dict[str, Any]] = {}
    shas: Dict[str, set] = {}
    for results in models.values():
        for tname, r in results.items():
            whole = TASKS[tname].reads_whole_references() if tname in TASKS else True
            for name, st in r.references.items():
                if name not in seen or str(st.get("date_utc") or "") > \
                        str(seen[name].get("date_utc") or ""):
                    seen[name] = st
                if whole:
                    shas.setdefault(name, set()).add(st.get("sha256"))
    out = ["| Reference | State | sha256 | Missing / in progress | Check vs tighter settings |",
           "|---|---|---|---|---|"]
    for name, st in sorted(seen.items()):
        if st.get("state") == "missing":
            out.append(f"| {name}.json | **missing** (DFT not run yet) | — | all comparisons "
                       "skipped | — |")
            continue
        miss = ", ".join(st.get("missing", [])) or "—"
        part = ", ".join(st.get("partial", []))
        out.append(f"| {name}.json | verified ({st.get('date_utc', '')}) | "
                   f"`{st.get('sha256', '')[:12]}` | {miss}"
                   f"{'; in progress: ' + part if part else ''} | "
                   f"{st.get('convergence_check') or '—'} |")
    for name, hs in sorted(shas.items()):
        if len(hs) > 1:
            out.append(f"\n**Warning**: the models were compared with different versions of "
                       f"{name}.json ({', '.join(str(h)[:12] for h in hs)}); rerun with "
                       "`umlip validate run --rerun` for a like-for-like table.")
    return out


def _compact(v: Any) -> str:
    """A settings value on one line: JSON without spaces after separators."""
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def _differing_keys(settings: Sequence[Dict[str, Any]]) -> List[str]:
    """The keys (sorted) whose values are not the same in every one of ``settings``."""
    keys = sorted(set().union(*(s.keys() for s in settings)))
    return [k for k in keys if len({_compact(s.get(k)) for s in settings}) > 1]


def settings_lines(per: Dict[str, TaskResult], where: str = "") -> List[str]:
    """Markdown lines stating a task's settings; where the models ran with different
    settings, a warning naming each differing key and each model's value (a side-by-side
    table of runs made with different settings compares the settings, not the models)."""
    if not per:
        return []
    keys = sorted(set().union(*(r.settings.keys() for r in per.values())))
    differ = _differing_keys([r.settings for r in per.values()])
    first = next(iter(per.values())).settings
    same = "; ".join(f"{k}={_compact(first.get(k))}" for k in keys if k not in differ)
    who = "all models" if len(per) > 1 else next(iter(per))
    units = f"; units: settings docstring in `{where}`" if where else ""
    out = [f"Settings ({who}{units}): `{same}`", ""]
    if differ:
        out += [f"**Warning: the models ran this task with different settings** "
                f"({', '.join(differ)}); their rows in the summary table are not a "
                f"like-for-like comparison.", ""]
        out += [f"- *{lab}*: " + "; ".join(f"{k}=`{_compact(r.settings.get(k))}`"
                                            for k in differ) for lab, r in per.items()]
        out.append("")
    return out


def settings_differ(models: Dict[str, Dict[str, TaskResult]]) -> List[str]:
    """Names of the tasks whose settings differ between models."""
    return [t for t in TASKS
            if _differing_keys([res[t].settings for res in models.values() if t in res])]


def load_models(dirs: Sequence[Path]) -> Tuple[Dict[str, Dict[str, Any]],
                                                Dict[str, Dict[str, TaskResult]]]:
    """({label: manifest}, {label: {task: result}}) of results directories; a label that
    occurs twice gets a prime."""
    manifests: Dict[str, Dict[str, Any]] = {}
    models: Dict[str, Dict[str, TaskResult]] = {}
    for d in dirs:
        man, res = load_results(d)
        label = man.get("label", d.name)
        while label in models:
            label += "'"
        manifests[label], models[label] = man, res
    return manifests, models


def _file_name(ci: Dict[str, Any]) -> str:
    """The model file's name (the directory is machine-specific; the hash identifies it)."""
    return Path(str(ci.get("path", ""))).name or str(ci.get("name", ""))


def write_report(result_dirs: Sequence[PathLike], out_dir: PathLike) -> Path:
    """Write ``<out_dir>/README.md`` (+ plots/) for the results directories; returns it."""
    dirs = find_result_dirs(result_dirs)
    out = Path(out_dir)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    manifests, models = load_models(dirs)
    md = ["# umlip reactive-events benchmark", "",
          f"Generated {time.strftime('%Y-%m-%d %H:%M')} from "
          + ", ".join(f"`{d}`" for d in dirs) + ".", "",
          "Units: eV, Å, eV/Å, K, THz. Model cells: value (deviation from DFT). "
          "DFT = PBE (GPAW plane waves with PAW setups for the solids and surfaces; PySCF "
          "def2-TZVP, all-electron and non-relativistic, for the molecules).", ""]
    unc = reference_uncertainties()
    md += how_to_read(models, unc)
    differ = settings_differ(models)
    if differ:
        md += [f"**Warning: models ran {', '.join(f'`{t}`' for t in differ)} with different "
               "settings; those rows compare settings as well as models (see the task "
               "sections).**", ""]
    md += ["## Summary", "", summary_table(models, unc), "", "## Models", "",
          "| Model | Calculator | Tasks (status, backend, compute time) | Quick |",
          "|---|---|---|---|"]
    for label, man in manifests.items():
        ci = man.get("calculator", {})
        desc = ci.get("content_hash") and f"{ci.get('family', '')} `{_file_name(ci)}` " \
            f"hash `{ci.get('content_hash')}` {ci.get('dtype', '')}" or ci.get("factory") or \
            ci.get("class", "")
        ts = "; ".join(f"{n}: {_status(e)}, {e.get('backend', '-')}, "
                       f"{'≥ ' if e.get('compute_time_incomplete') else ''}"
                       f"{e.get('compute_wall_time_s', e.get('wall_time_s', 0)):.0f} s"
                       + (f" ({e['shards']} shards)" if e.get("shards") else "")
                       for n, e in man.get("tasks", {}).items())
        quick = any(e.get("quick") for e in man.get("tasks", {}).values())
        md.append(f"| {label} | {desc} | {ts} | {'yes (smoke settings)' if quick else 'no'} |")
    if any(e.get("compute_time_incomplete") for man in manifests.values()
           for e in man.get("tasks", {}).values()):
        md += ["", "≥: the task resumed from pieces that an interrupted earlier run computed; "
               "that run's time was not recorded."]
    if any(e.get("shards") for man in manifests.values()
           for e in man.get("tasks", {}).values()):
        md += ["", "(n shards): the task's pieces were split over n processes (`--jobs`, "
               "`--shard`); its compute time is the sum of their wall times."]
    md += ["", "## DFT references", ""] + _references_section(models)
    for tname, cls in TASKS.items():
        per = {lab: res[tname] for lab, res in models.items() if tname in res}
        failed = {lab: man["tasks"][tname] for lab, man in manifests.items()
                  if man.get("tasks", {}).get(tname, {}).get("status") == "failed"}
        if not per and not failed:
            continue
        md += ["", f"## {cls.title} (`{tname}`)", ""]
        doc = sys.modules[cls.__module__].__doc__ or ""
        first = doc.strip().split("\n\n")[0].replace("\n", " ")
        md += [first, ""] + settings_lines(per, cls.__module__)
        if per:
            for p in cls.plot_results(per, out / "plots"):
                md.append(f"![{Path(p).stem}]({os.path.relpath(p, out)})")
            md.append("")
        shared = [n for n in next(iter(per.values())).notes
                  if len(per) > 1 and all(n in r.notes for r in per.values())]
        md += [f"- *all models*: {n}" for n in shared]
        for lab, r in per.items():
            for n in r.notes:
                if n not in shared:
                    md.append(f"- *{lab}*: {n}")
            for e in r.errors:
                md.append(f"- *{lab}*: **failed piece** {e['piece']}: {e['error']}")
        for lab, e in failed.items():
            md.append(f"- *{lab}*: **task failed**: {e.get('error')}")
        if per:
            md += cls.report_lines(per)
    path = out / "README.md"
    path.write_text("\n".join(md) + "\n")
    return path
