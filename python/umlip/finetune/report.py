"""The fine-tuning report: learning curves (model - DFT against the number of DFT labels, with
the spread over training seeds), forgetting beside them, compute per budget, and one table
"zero-shot vs best fine-tuned vs DFT".

Inputs are what the fine-tuning steps leave: the validation runs of the base model and of
every fine-tuned model (run labels ``<base>-ft<budget>-<strategy><rank seed>-s<seed>`` with an
optional ``-<variant>``), the provenance JSON next to each model file, the labels (their DFT
wall time) and the held-out errors written by ``umlip finetune heldout -o``."""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from umlip.finetune.pool import ranking_key, read_pool, training_set
from umlip.io import PathLike, read_json, write_json
from umlip.validation.stats import binomial_ci, smallest_resolvable_difference

RUN_LABEL = re.compile(r"-ft(?P<budget>\d+)-(?P<strategy>[a-z]+)(?P<rank_seed>\d+)"
                       r"-s(?P<seed>\d+)(?:-(?P<variant>[a-z]+))?$")

#: what the fine-tuning targets: (metric key, short name); model - DFT [eV or Å]. The
#: bridge-to-hollow barrier was not targeted: the pool holds the base model's top-site path
TARGET = (("Eads_fcc", "E_ads H fcc"), ("Eads_hcp", "E_ads H hcp"),
          ("Eads_ontop", "E_ads H top"), ("E_2H", "2H vs slab + H2(g)"),
          ("h2_barrier_gas", "H2 barrier (own CI-NEB)"),
          ("h2_barrier_dftpath", "H2 barrier on the DFT path"),
          ("h2_barrier_bridge_gas", "H2 barrier, bridge-to-hollow route (own CI-NEB)"),
          ("h2_barrier_bridge_dftpath", "H2 barrier, bridge-to-hollow route, on the DFT path"),
          ("h2_binding", "H2 binding energy"), ("cu_a0", "Cu a0 [Å]"),
          ("adatom_hop_fwd", "Cu adatom hop fcc->hcp"),
          ("Eads_top_minus_fcc", "E(H top) - E(H fcc), no H2 reference"))
#: the rows with an accuracy goal: within GOAL_EV of DFT (drawn as a band on the plots)
GOAL_KEYS = ("Eads_fcc", "Eads_hcp", "Eads_ontop", "h2_barrier_gas", "h2_barrier_dftpath")
GOAL_EV = 0.05
#: derived rows: key -> (minuend, subtrahend), both model - DFT
DERIVED = {"Eads_top_minus_fcc": ("Eads_ontop", "Eads_fcc")}
#: what it does not target: (metric key, short name); the value itself (an MAE) or, for a
#: quantity with a DFT value, model - DFT
FORGETTING = (("diss_binding_mae_window", "dissociation curves, MAE [eV]"),
              ("diss_force_mae_window", "dissociation bond forces, MAE [eV/Å]"),
              ("diss_De_O2", "De O2"), ("diss_De_N2", "De N2"), ("diss_De_CO", "De CO"),
              ("ph_Cu_mesh_mae", "Cu phonons, MAE [THz]"),
              ("ph_Si_mesh_mae", "Si phonons, MAE [THz]"),
              ("far_energy_mae_per_atom", "away from the target: |E - E_base| [eV/atom]"),
              ("far_force_mae", "away from the target: |F - F_base| [eV/Å]"))
#: the reactive-MD rows (P(dissociation) per incidence energy) have no DFT value: the model's
#: own rate, compared with the zero-shot model's (see ``reactive_section``)
REACTIVE_PREFIX = "pdiss_"
HELDOUT = (("heldout_energy_mae", "held-out binding energies, MAE [eV]"),
           ("heldout_force_mae", "held-out forces, MAE [eV/Å]"))


def parse_run_label(label: str) -> Optional[Dict[str, Any]]:
    """``{budget, strategy, rank_seed, seed, variant}`` of a fine-tuned run label, else None."""
    m = RUN_LABEL.search(label)
    if not m:
        return None
    return {"budget": int(m["budget"]), "strategy": m["strategy"],
            "rank_seed": int(m["rank_seed"]), "seed": int(m["seed"]),
            "variant": m["variant"] or "plain"}


def model_stem(label: str, base_label: str) -> str:
    """The model file's stem in a fine-tuned run label ``<base>-<stem>``, else the label."""
    return label[len(base_label) + 1:] if label.startswith(base_label + "-") else label


def metric_errors(results) -> Dict[str, float]:
    """``{metric key: model - DFT}`` (or the value, for metrics without a DFT value) of one
    model's task results."""
    out = {}
    for r in results.values():
        for m in r.summary():
            if m.value is None or isinstance(m.value, str):
                continue
            err = m.error
            if err is None and m.reference is not None:
                err = m.value - m.reference
            out[m.key] = float(err if err is not None else m.value)
    for key, (a, b) in DERIVED.items():
        if a in out and b in out:
            out[key] = out[a] - out[b]
    return out


def collect(base_run: PathLike, finetune_runs: PathLike, heldout: Optional[PathLike] = None
            ) -> Dict[str, Any]:
    """Every model's numbers: ``{"base": row, "finetuned": [row, ...], "reactive_md": {label:
    counts}}``, a row being ``{label, budget, strategy, rank_seed, seed, variant, errors: {key:
    value}}``; ``reactive_md`` holds every run with that task (the base first, then the
    fine-tuning runs, including ones that are not a fine-tuned model, e.g. the base model on
    another MD backend): ``[{energy_eV, n, n_dissociated, backend}]``."""
    from umlip.validation.report import load_models

    _, base = load_models([Path(base_run)])
    base_label = next(iter(base))
    dirs = sorted(p for p in Path(finetune_runs).iterdir() if (p / "manifest.json").is_file())
    _, tuned = load_models(dirs)
    held = (read_json(heldout) or {}).get("models", {}) if heldout else {}
    held = {Path(k).stem: v for k, v in held.items()}

    def row(label, results, info):
        errors = metric_errors(results)
        stem = model_stem(label, base_label)
        h = held.get(stem) or held.get(label)
        if h is not None:
            errors.update({k: h[k[len("heldout_"):]] for k, _ in HELDOUT})
            far = h.get("far_from_target_vs_base")
            if far is not None:
                errors.update(far_energy_mae_per_atom=far["energy_mae_per_atom"],
                              far_force_mae=far["force_mae"])
        return dict(info, label=label, errors=errors)

    models = Path(finetune_runs).parent / "models"
    rows = []
    for label, results in tuned.items():
        info = parse_run_label(label)
        if info is not None:
            r = row(label, results, info)
            prov = read_json(models / f"{model_stem(label, base_label)}.json", None)
            if prov is not None and "wall_time_s" in prov:
                r["errors"]["train_minutes"] = float(prov["wall_time_s"]) / 60.0
            rows.append(r)
    base_row = row(base_label, base[base_label],
                   {"budget": 0, "strategy": None, "rank_seed": None, "seed": None,
                    "variant": None})
    reactive = {label: reactive_counts(res["reactive_md"])
                for label, res in list(base.items()) + list(tuned.items())
                if "reactive_md" in res}
    return {"base": base_row, "finetuned": rows, "reactive_md": reactive}


def reactive_counts(result) -> List[Dict[str, Any]]:
    """``[{energy_eV, n, n_dissociated, backend}]`` of a reactive-MD task result."""
    return [{"energy_eV": float(r["energy_eV"]), "n": int(r["n"]),
             "n_dissociated": int(r["n_dissociated"]), "backend": r["backend"]}
            for r in result.energies]


def reactive_keys(data: Dict[str, Any]) -> Tuple[Tuple[str, str], ...]:
    """The P(dissociation) rows present in ``data``, by incidence energy: (key, name)."""
    keys = {k for r in [data["base"]] + data["finetuned"] for k in r["errors"]
            if k.startswith(REACTIVE_PREFIX)}
    return tuple((k, f"P(dissociation) at {k[len(REACTIVE_PREFIX):]} eV (model; no DFT value)")
                 for k in sorted(keys, key=lambda k: float(k[len(REACTIVE_PREFIX):])))


def _run_order(label: str):
    """Zero-shot runs first, then fine-tuned ones by variant, budget and seed."""
    info = parse_run_label(label)
    if info is None:
        return (0, "", 0, 0, label)
    return (1, info["variant"], info["budget"], info["seed"], label)


def reactive_run_name(label: str, base_label: str) -> str:
    """A fine-tuned run by its model stem; any other run (the base model, maybe on another MD
    backend) by its label, marked zero-shot."""
    if parse_run_label(label) is None:
        return f"{label} (zero-shot)"
    return model_stem(label, base_label)


def reactive_section(reactive: Dict[str, List[Dict[str, Any]]], base_label: str,
                     alpha: float = 0.05) -> List[str]:
    """Markdown: every run's dissociated / trajectories per incidence energy with the exact
    95% interval, and the two-sided Fisher exact p against a zero-shot run at the same energy:
    the zero-shot run on the same MD backend where there is one (a run whose label is not a
    fine-tuned model's, e.g. the base model rerun on another backend), else ``base_label``.
    The comparisons that stay below ``alpha`` after Holm's correction over the whole table are
    named."""
    from umlip.validation.tasks.reactive_md import pairwise_dissociation_tests

    if base_label not in reactive:
        return []
    energies = sorted(r["energy_eV"] for r in reactive[base_label])
    backend = {label: ", ".join(sorted({r["backend"] for r in rows}))
               for label, rows in reactive.items()}
    runs = sorted(reactive, key=_run_order)
    zero_shot = [base_label] + [k for k in runs if k != base_label and parse_run_label(k) is None]

    def reference(label):
        same = [z for z in zero_shot if z != label and backend[z] == backend[label]]
        return same[0] if same else base_label

    refs = {label: reference(label) for label in runs if label != base_label}
    tests = pairwise_dissociation_tests(reactive, alpha, list(refs.items()))
    p_of = {(t["a"], t["energy_eV"]): t["p"] for t in tests}
    lines = ["## P(dissociation) of H2 on Cu(111): reactive MD", "",
             "No DFT value: AIMD trajectories are beyond this machine, so the rows say whether "
             "fine-tuning changed the model's own rate. Cells: dissociated / trajectories "
             "[exact 95% interval]; p: two-sided Fisher exact test against the zero-shot run "
             "named in the row at the same energy (on the same MD backend where there is one). "
             "Same incidence conditions, seeds and NVE settings in every run.", "",
             "| run | backend | compared with | " + " | ".join(f"{e:g} eV" for e in energies)
             + " |", "|---|---|---|" + "---:|" * len(energies)]
    for label in runs:
        by_e = {r["energy_eV"]: r for r in reactive[label]}
        cells = []
        for e in energies:
            r = by_e.get(e)
            if r is None:
                cells.append("n/a")
                continue
            ci = binomial_ci(r["n_dissociated"], r["n"])
            cell = f"{r['n_dissociated']}/{r['n']} [{ci['low']:.2f}, {ci['high']:.2f}]"
            if (label, e) in p_of:
                cell += f" p = {p_of[label, e]:.2f}"
            cells.append(cell)
        vs = _name(reactive_run_name(refs[label], base_label)) if label in refs else ""
        lines.append(f"| {_name(reactive_run_name(label, base_label))} | {backend[label]} | "
                     f"{vs} | " + " | ".join(cells) + " |")
    ns = sorted({r["n"] for rows in reactive.values() for r in rows})
    lines.append("")
    if len(ns) == 1:
        lines.append(f"With {ns[0]} trajectories per energy, two counts differ at the 5% level "
                     f"for every baseline only if they are {smallest_resolvable_difference(ns[0])}"
                     " or more apart.")
    hits = [f"{_name(reactive_run_name(t['a'], base_label))} at {t['energy_eV']:g} eV "
            f"(Holm-adjusted p = {t['p_holm']:.3f})" for t in tests if t["significant_holm"]]
    lines.append(f"Differences after Holm's correction over the {len(tests)} comparisons: "
                 + ("; ".join(hits) if hits else "none") + ".")
    return lines + [""]


def series(data: Dict[str, Any]) -> Dict[Tuple[str, int, str], Dict[int, List[Dict]]]:
    """``{(strategy, rank_seed, variant): {budget: [rows over seeds]}}``; budget 0 is the base
    model in every series."""
    out: Dict[Tuple[str, int, str], Dict[int, List[Dict]]] = defaultdict(dict)
    for r in data["finetuned"]:
        out[(r["strategy"], r["rank_seed"], r["variant"])].setdefault(r["budget"], []).append(r)
    for s in out.values():
        s[0] = [data["base"]]
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def spread(rows: Sequence[Dict], key: str) -> Optional[Tuple[float, float, float, int]]:
    """(mean, min, max, n) of ``key`` over the rows that have it."""
    vals = [r["errors"][key] for r in rows if key in r["errors"]]
    if not vals:
        return None
    return float(np.mean(vals)), float(np.min(vals)), float(np.max(vals)), len(vals)


def compute_cost(labels_dir: PathLike, ranking: Sequence[str], budgets: Sequence[int],
                 cores: int = 2) -> Dict[int, float]:
    """DFT core-hours of the first ``budget`` labels of a ranking (label wall time x cores)."""
    walls = []
    for cid in ranking[:max(budgets, default=0)]:
        lab = read_json(Path(labels_dir) / f"{cid}.json", None)
        walls.append(None if lab is None else float(lab.get("wall_time_s", np.nan)))
    return {b: (float(np.nansum(walls[:b])) * cores / 3600.0
                if None not in walls[:b] else float("nan")) for b in budgets}


def label_costs(ser, pool_path: PathLike) -> Dict[str, Dict[int, float]]:
    """DFT core-hours per ranking ("strategy:seed") and budget, over the budgets of every
    variant trained on that ranking (the labels are shared; one variant may go further)."""
    pool = read_pool(pool_path)
    labels_dir = Path(pool_path).parent / "labels"
    budgets_of: Dict[Tuple[str, int], set] = {}
    for (strategy, rseed, _), by_budget in ser.items():
        budgets_of.setdefault((strategy, rseed), set()).update(by_budget)
    cost = {}
    for (strategy, rseed), budgets in budgets_of.items():
        key = ranking_key(strategy, rseed)
        if key in pool["rankings"]:
            ids = training_set(pool, strategy, rseed, len(pool["rankings"][key]))
            cost[key] = compute_cost(labels_dir, ids, sorted(budgets))
    return cost


#: rows that are magnitudes (MAEs, drifts, times), printed without a sign
UNSIGNED = ("_mae", "far_", "train_minutes", REACTIVE_PREFIX)


def _fmt_spread(s, signed: bool = True) -> str:
    if s is None:
        return "n/a"
    mean, lo, hi, n = s
    f = "{:+.3f}" if signed else "{:.3f}"
    if n == 1 or hi - lo < 5e-4:
        return f.format(mean)
    return f"{f.format(mean)} [{f.format(lo)}, {f.format(hi)}]"


def _cells(rows_by_budget, budgets, key) -> List[str]:
    """One cell per budget; a cell over fewer seeds than the budget has says how many."""
    signed = not any(u in key for u in UNSIGNED)
    out = []
    for b in budgets:
        s, n = spread(rows_by_budget[b], key), len(rows_by_budget[b])
        cell = _fmt_spread(s, signed)
        out.append(cell + (f" ({s[3]} of {n} seeds)" if s is not None and s[3] < n else ""))
    return out


def _name(name: str) -> str:
    return name.replace("|", "\\|")


def plot_curves(ser, keys, title: str, path: Path) -> None:
    from umlip.validation.plotting import pyplot

    plt = pyplot()
    n = len(keys)
    cols = 3
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, (key, name) in zip(axes.flat, keys):
        for (strategy, rseed, variant), by_budget in ser.items():
            pts = [(b, spread(rs, key)) for b, rs in by_budget.items()]
            pts = [(b, s) for b, s in pts if s is not None]
            if not pts:
                continue
            x = np.array([max(b, 1) for b, _ in pts], dtype=float)   # budget 0 drawn at 1
            mean = np.array([s[0] for _, s in pts])
            err = np.array([[s[0] - s[1] for _, s in pts], [s[2] - s[0] for _, s in pts]])
            ax.errorbar(x, mean, yerr=err, marker="o", capsize=3,
                        label=f"{strategy}:{rseed} {variant}")
        ax.axhline(0.0, color="black", lw=0.8)
        if key in GOAL_KEYS:
            ax.axhspan(-GOAL_EV, GOAL_EV, color="0.85", zorder=0,
                       label=f"goal: within {GOAL_EV} eV of DFT")
        ax.set_xscale("log", base=2)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("DFT labels (0 plotted at 1)")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    for ax in axes.flat:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
            break
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_pdissociation(reactive: Dict[str, List[Dict[str, Any]]], base_label: str,
                       path: Path) -> None:
    """P(dissociation) against incidence energy, one curve per run, bars: exact 95% interval
    (the sampling uncertainty of the trajectory count, larger than any seed spread here)."""
    from umlip.validation.plotting import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    width = 0.012 * max(len(reactive) - 1, 1)
    for k, label in enumerate(sorted(reactive, key=_run_order)):
        rows = sorted(reactive[label], key=lambda r: r["energy_eV"])
        shift = (k / max(len(reactive) - 1, 1) - 0.5) * width * 2
        e = np.array([r["energy_eV"] for r in rows]) + shift
        ci = [binomial_ci(r["n_dissociated"], r["n"]) for r in rows]
        p = np.array([c["estimate"] for c in ci])
        err = np.array([p - [c["low"] for c in ci], [c["high"] for c in ci] - p])
        ax.errorbar(e, p, yerr=err, marker="o", capsize=3,
                    label=f"{reactive_run_name(label, base_label)}, {rows[0]['backend']}")
    ax.set_xlabel("H2 incidence energy [eV]")
    ax.set_ylabel("P(dissociation)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("H2 on Cu(111), reactive MD; bars: exact 95% interval", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_finetune_report(base_run: PathLike, finetune_runs: PathLike, out_dir: PathLike,
                          heldout: Optional[PathLike] = None, pool: Optional[PathLike] = None
                          ) -> Path:
    """Plots, data JSON and README.md (the tables) in ``out_dir``."""
    data = collect(base_run, finetune_runs, heldout)
    ser = series(data)
    out = Path(out_dir)
    reactive = reactive_keys(data)
    plot_curves(ser, HELDOUT + TARGET, "Fine-tuning: model - DFT (held-out: MAE) vs DFT labels; "
                "bars: min-max over training seeds", out / "learning_curves.png")
    if data["reactive_md"]:
        plot_pdissociation(data["reactive_md"], data["base"]["label"], out / "pdissociation.png")
    else:
        (out / "pdissociation.png").unlink(missing_ok=True)   # no stale plot of older runs
    plot_curves(ser, FORGETTING, "Forgetting: what fine-tuning did not target (MAE, or model - "
                "DFT)", out / "forgetting.png")
    lines = ["# Fine-tuning SevenNet-0 for H2 on Cu(111): learning curves and forgetting", "",
             "Made by `umlip finetune report` from the committed runs (how: "
             "[docs/finetune.md](../../finetune.md)). Cells: mean over training seeds "
             "[min, max]; model - DFT in eV unless stated; MAE rows are the MAE itself. "
             "Budget 0 is the base model. Grey band on the learning curves: the goal, "
             f"within {GOAL_EV} eV of DFT.", "",
             "![learning curves](learning_curves.png)", "", "![forgetting](forgetting.png)", ""]
    if data["reactive_md"]:
        lines += ["![P(dissociation)](pdissociation.png)", ""]
    cost = label_costs(ser, pool) if pool else {}
    for (strategy, rseed, variant), by_budget in ser.items():
        budgets = list(by_budget)
        lines += [f"## Ranking {strategy}:{rseed}, {variant} fine-tuning", "",
                  "| quantity | " + " | ".join(f"{b} labels" for b in budgets) + " |",
                  "|---|" + "---:|" * len(budgets)]
        for key, name in HELDOUT + TARGET + FORGETTING + reactive + (
                ("train_minutes", "training wall time per model [min]"),):
            cells = _cells(by_budget, budgets, key)
            # a row with the base model's value alone says nothing about fine-tuning
            if any(c != "n/a" for b, c in zip(budgets, cells) if b > 0):
                lines.append(f"| {_name(name)} | " + " | ".join(cells) + " |")
        seeds = [str(len(by_budget[b])) for b in budgets]
        lines.append("| training seeds | " + " | ".join(seeds) + " |")
        c = cost.get(ranking_key(strategy, rseed))
        if c:
            lines.append("| DFT core-hours (labels) | " + " | ".join(
                f"{c.get(b, float('nan')):.1f}" for b in budgets) + " |")
        lines.append("")
    best = best_finetuned(ser)
    if best is not None:
        (strategy, rseed, variant), b = best
        rows = ser[(strategy, rseed, variant)][b]
        lines += ["## Zero-shot vs best fine-tuned vs DFT", "",
                  f"Best fine-tuned: ranking {strategy}:{rseed}, {variant}, {b} labels "
                  f"({len(rows)} seed{'s' if len(rows) > 1 else ''}), the lowest held-out "
                  "binding-energy MAE; cells: model - DFT.", "",
                  "| quantity | zero-shot | best fine-tuned |", "|---|---:|---:|"]
        for key, name in HELDOUT + TARGET + FORGETTING + reactive:
            cells = _cells({0: [data["base"]], 1: rows}, [0, 1], key)
            lines.append(f"| {_name(name)} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += reactive_section(data["reactive_md"], data["base"]["label"])
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "data.json", {"base": data["base"], "finetuned": data["finetuned"],
                                   "reactive_md": data["reactive_md"], "dft_core_hours": cost})
    (out / "README.md").write_text("\n".join(lines))
    return out


def best_finetuned(ser) -> Optional[Tuple[Tuple[str, int, str], int]]:
    """The (series, budget) with the lowest mean held-out binding-energy MAE (budget > 0)."""
    cands = []
    for k, by_budget in ser.items():
        for b, rows in by_budget.items():
            s = spread(rows, "heldout_energy_mae")
            if b > 0 and s is not None:
                cands.append((s[0], k, b))
    if not cands:
        return None
    _, k, b = min(cands)
    return k, b
