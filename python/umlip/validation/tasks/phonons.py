"""Task 6: phonons of fcc Cu and diamond Si with phonopy vs the DFT (GPAW PBE) reference.

The DFT force constants are rebuilt with phonopy from the stored displacement dataset and
forces (``phonons.json``: unit cell, supercell/primitive matrices, displacements); the model
gets the *same* displaced supercells (same structure at the DFT lattice constant, same
displacement amplitude and set), so only the forces differ. Both are evaluated on the
reference band path (G-X-K-G-L) and the reference q-mesh (Gamma-centred, symmetry-reduced,
weighted). Reported per material: frequency MAE / RMSE / max error on the band path and on
the mesh (mesh errors weighted by q-point weights), imaginary modes of the model (frequencies
below ``-imaginary_tol`` anywhere except the three acoustic modes at Gamma), the total DOS
(phonopy, Gaussian smearing ``dos_sigma``), and how well the rebuilt DFT frequencies match
the ones stored in the file (phonopy version check).

Without a reference the model phonons are computed with the recipe's settings
(:data:`umlip.validation.systems.PHONON_SYSTEMS`) and reported without comparison. Frequencies in THz.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from ase import Atoms
from ase.build import bulk

from umlip.validation.dft_data import load_dft_data
from umlip.validation.stats import error_stats
from umlip.validation.systems import (BAND_PATH, DISPLACEMENT, HSP, MESH, PHONON_SYSTEMS,
                                      POINTS_PER_SEGMENT)
from umlip.validation.task import Metric, Task, TaskResult

@dataclass
class PhononSettings:
    """materials; band_stride: every n-th q-point of the reference path; mesh: q-mesh (None =
    the reference's); dos_sigma [THz]; imaginary_tol [THz]; supercell_fallback: supercell
    repetition when there is no reference (None = the recipe's)."""

    materials: Tuple[str, ...] = ("Cu", "Si")
    band_stride: int = 1
    mesh: Optional[Tuple[int, int, int]] = None
    dos_sigma: float = 0.1
    imaginary_tol: float = 0.05
    supercell_fallback: Optional[int] = None

    @classmethod
    def quick(cls) -> "PhononSettings":
        return cls(band_stride=3, mesh=(4, 4, 4), supercell_fallback=2)


@dataclass
class PhononResult(TaskResult):
    """materials: per material ``band`` (q-points reduced, path coordinate [1/Å],
    frequencies model / dft [THz], special-point labels), ``mesh`` (weights, frequencies),
    ``dos`` (frequency points, model / dft DOS), ``metrics`` (THz, counts), ``setup``."""

    materials: Dict[str, Any] = field(default_factory=dict)

    def summary(self) -> List[Metric]:
        out = []
        for mat, d in self.materials.items():
            m = d["metrics"]
            out.append(Metric(f"ph_{mat}_band_mae", f"Phonons {mat}: band-path MAE", "THz",
                              m.get("band_mae")))
            out.append(Metric(f"ph_{mat}_mesh_mae", f"Phonons {mat}: mesh MAE (weighted)",
                              "THz", m.get("mesh_mae")))
            out.append(Metric(f"ph_{mat}_max", f"Phonons {mat}: max frequency", "THz",
                              m.get("max_freq_model"), m.get("max_freq_dft")))
            if m.get("mesh_mae_own_a0") is not None:
                own = "at the model's own lattice constant (rows above: at DFT's)"
                a = f"a = {m['a_model']:.3f} Å"
                out.append(Metric(f"ph_{mat}_mesh_mae_own_a0", f"Phonons {mat}: mesh MAE {own}",
                                  "THz", m["mesh_mae_own_a0"], note=a))
                out.append(Metric(f"ph_{mat}_max_own_a0", f"Phonons {mat}: max frequency {own}",
                                  "THz", m["max_freq_model_own_a0"], m.get("max_freq_dft"),
                                  note=a))
            elif m.get("own_lattice_error"):
                out.append(Metric(f"ph_{mat}_mesh_mae_own_a0", f"Phonons {mat}: mesh MAE at the "
                                  "model's own lattice constant (rows above: at DFT's)", "THz",
                                  None, note="no own lattice: " + m["own_lattice_error"][:80]))
            out.append(Metric(f"ph_{mat}_imag", f"Phonons {mat}: imaginary modes (band+mesh)",
                              "", m.get("n_imaginary")))
        return out


def _unitcell(d: Dict[str, Any]):
    from phonopy.structure.atoms import PhonopyAtoms

    return PhonopyAtoms(symbols=d["symbols"], cell=np.array(d["cell"]),
                        scaled_positions=np.array(d["scaled_positions"]))


def make_phonopy(unitcell: Dict[str, Any], supercell_matrix, primitive_matrix,
                 dataset: Optional[Dict[str, Any]] = None, distance: float = DISPLACEMENT,
                 is_plusminus: Any = "auto", symprec: float = 1e-5):
    """A Phonopy object; with ``dataset`` its displacements (and forces, if stored) are used,
    else displacements are generated with ``distance`` [Å] / ``is_plusminus``."""
    from phonopy import Phonopy

    ph = Phonopy(_unitcell(unitcell), supercell_matrix=np.array(supercell_matrix),
                 primitive_matrix=None if primitive_matrix is None else np.array(primitive_matrix),
                 symprec=symprec, is_symmetry=True)
    if dataset is not None:
        ph.dataset = {"natom": int(dataset["natom"]), "first_atoms": [
            {k: (np.array(v) if k != "number" else int(v)) for k, v in d.items()
             if k in ("number", "displacement", "forces")} for d in dataset["first_atoms"]]}
    else:
        ph.generate_displacements(distance=distance, is_plusminus=is_plusminus)
    return ph


def supercell_forces(ph, calc, cache=None, key: str = "") -> np.ndarray:
    """Forces [eV/Å] on every displaced supercell of ``ph`` (cached per displacement)."""
    out = []
    for k, sc in enumerate(ph.supercells_with_displacements):
        def work(sc=sc):
            a = Atoms(symbols=sc.symbols, cell=sc.cell, scaled_positions=sc.scaled_positions,
                      pbc=True)
            a.calc = calc
            return {"forces": a.get_forces()}
        rec = cache.compute(f"{key}disp{k:03d}", work) if cache is not None else work()
        out.append(np.array(rec["forces"]))
    return np.array(out)


def own_lattice_scale(calc, unitcell: Dict[str, Any], span: float = 0.03,
                      n_points: int = 9) -> Dict[str, Any]:
    """The model's own lattice: the isotropic scale s of ``unitcell`` at the minimum of a
    Birch-Murnaghan fit (ase.eos) of its energies on s in 1 +- ``span``."""
    from ase.eos import EquationOfState

    cell = np.array(unitcell["cell"], float)
    grid = np.linspace(1 - span, 1 + span, n_points)
    es, vs = [], []
    for f in grid:
        a = Atoms(symbols=unitcell["symbols"], cell=cell * f,
                  scaled_positions=unitcell["scaled_positions"], pbc=True)
        a.calc = calc
        es.append(float(a.get_potential_energy()))
        vs.append(a.get_volume())
    v0, _, _ = EquationOfState(vs, es, eos="birchmurnaghan").fit()
    scale = float((v0 / abs(np.linalg.det(cell))) ** (1 / 3))
    if not grid[0] < scale < grid[-1]:
        raise ValueError(f"the model's lattice minimum (scale {scale:.3f}) is outside the fitted "
                         f"range 1 +- {span}")
    return {"scale": scale, "grid": grid, "energies": es}


def freqs_at(ph, qpoints) -> np.ndarray:
    """Frequencies [THz] at reduced q-points, shape (n_q, n_bands), sorted per q-point."""
    ph.run_qpoints(np.asarray(qpoints, float))
    return np.array(ph.qpoints.frequencies)


def band_axis(qpoints: np.ndarray, primitive_cell: np.ndarray) -> np.ndarray:
    """Cumulative path length [1/Å, no 2 pi] along consecutive q-points (jumps between
    disconnected segments are not counted: the reference path is continuous)."""
    rec = np.linalg.inv(np.array(primitive_cell)).T
    dq = np.linalg.norm(np.diff(qpoints @ rec, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(dq)])


def count_imaginary(qpoints: np.ndarray, freqs: np.ndarray, tol: float) -> Tuple[int, float]:
    """(number of modes with frequency < -tol [THz], lowest frequency) ignoring the three
    acoustic modes at Gamma."""
    f = np.array(freqs, float).copy()
    gamma = np.linalg.norm(np.array(qpoints, float), axis=1) < 1e-8
    f[gamma, :3] = np.nan   # frequencies are sorted: the acoustic branches come first
    return int(np.nansum(f < -tol)), float(np.nanmin(f))


class PhononTask(Task):
    name = "phonons"
    title = "Phonons of Cu and Si (phonopy)"
    Settings = PhononSettings
    Result = PhononResult
    reference_names = ("phonons", "h_cu111")

    def reference_inputs(self):
        # the phonon file whole; of h_cu111 only the Cu lattice constant (used without
        # DFT phonons)
        ref, h = self.refs["phonons"], self.refs["h_cu111"]
        return {"phonons": ref.sha256 if ref else None,
                "h_cu111": h.get("bulk_cu.a0_used_rounded") if h is not None else None}
    piece_independent = ("materials", "band_stride", "mesh", "dos_sigma", "imaginary_tol")

    def _run(self, calc) -> PhononResult:
        res = PhononResult()
        prog = self.progress(len(self.settings.materials))
        for mat in self.settings.materials:
            d = self.guarded(res, mat, self._material, calc, mat)
            if d is not None:
                res.materials[mat] = d
            prog.update(info=mat)
        prog.close()
        return res

    def _setup(self, mat: str) -> Dict[str, Any]:
        """Structure + phonopy settings + q-points: from the reference or the defaults."""
        ref = self.refs["phonons"]
        s = self.settings
        if ref is not None and ref.has(mat):
            r = ref.payload[mat]
            ps = r["phonopy_settings"]
            return {"source": "phonons.json", "unitcell": r["unitcell"],
                    "supercell_matrix": ps["supercell_matrix"],
                    "primitive_matrix": ps["primitive_matrix"], "dataset": r[
                        "displacement_dataset"], "primitive_cell": r["primitive_cell"]["cell"],
                    "band_q": np.array(r["band"]["qpoints_reduced"]),
                    "band_f": np.array(r["band"]["frequencies_THz"]),
                    "path": r["band"]["path"], "npts": r["band"]["points_per_segment"],
                    "mesh": list(s.mesh or r["mesh"]["mesh"]),
                    "mesh_ref": r["mesh"], "symprec": ps.get("symprec", 1e-5),
                    "a": r["lattice_constant_a0"]}
        dflt = PHONON_SYSTEMS[mat]
        a = dflt["a_fallback"]
        h = self.refs["h_cu111"]
        if mat == "Cu" and h is not None and h.has("bulk_cu.a0_used_rounded"):
            a = float(h.get("bulk_cu.a0_used_rounded"))
        at = bulk(mat, dflt["structure"], a=a, cubic=dflt["cubic"])
        n = s.supercell_fallback or dflt["supercell"]
        qs = []
        for p1, p2 in zip(BAND_PATH[:-1], BAND_PATH[1:]):
            qa, qb = np.array(HSP[p1]), np.array(HSP[p2])
            qs += [qa + (qb - qa) * t for t in np.linspace(0, 1, POINTS_PER_SEGMENT)]
        prim = np.array(at.cell) if dflt["primitive"] is None else \
            np.array(dflt["primitive"]) @ np.array(at.cell)
        return {"source": f"defaults (no DFT phonons for {mat})",
                "unitcell": {"symbols": at.get_chemical_symbols(),
                             "cell": np.array(at.cell).tolist(),
                             "scaled_positions": at.get_scaled_positions().tolist()},
                "supercell_matrix": (np.eye(3, dtype=int) * n).tolist(),
                "primitive_matrix": dflt["primitive"], "dataset": None,
                "primitive_cell": prim.tolist(), "band_q": np.array(qs), "band_f": None,
                "path": list(BAND_PATH), "npts": POINTS_PER_SEGMENT, "mesh": list(s.mesh or MESH),
                "mesh_ref": None, "symprec": 1e-5, "a": a}

    def _material(self, calc, mat: str) -> Dict[str, Any]:
        s = self.settings
        st = self._setup(mat)
        disps = None
        if st["dataset"] is not None:
            disps = {"natom": st["dataset"]["natom"], "first_atoms": [
                {"number": x["number"], "displacement": x["displacement"]}
                for x in st["dataset"]["first_atoms"]]}
        ph_m = make_phonopy(st["unitcell"], st["supercell_matrix"], st["primitive_matrix"],
                            disps, symprec=st["symprec"])
        ph_m.forces = supercell_forces(ph_m, calc, self.cache, f"{mat}_")
        ph_m.produce_force_constants()
        ph_d = None
        if st["dataset"] is not None:
            ph_d = make_phonopy(st["unitcell"], st["supercell_matrix"], st["primitive_matrix"],
                                st["dataset"], symprec=st["symprec"])
            ph_d.produce_force_constants()
        idx = np.arange(0, len(st["band_q"]), max(1, s.band_stride))
        seg_ends = np.arange(0, len(st["band_q"]), st["npts"])
        idx = np.union1d(idx, np.union1d(seg_ends, seg_ends[1:] - 1))
        idx = np.union1d(idx, [len(st["band_q"]) - 1])
        q = st["band_q"][idx]

        def mesh_of(ph):
            ph.run_mesh(st["mesh"], is_gamma_center=True, is_mesh_symmetry=True)
            m = ph.mesh
            md = {"qpoints": np.array(m.qpoints), "weights": np.array(m.weights),
                  "frequencies": np.array(m.frequencies)}
            ph.run_total_dos(sigma=s.dos_sigma)
            return md, {"frequency_points": np.array(ph.total_dos.frequency_points),
                        "total_dos": np.array(ph.total_dos.dos)}

        fb_m = freqs_at(ph_m, q)
        md_m, dos_m = mesh_of(ph_m)
        n_im_b, fmin_b = count_imaginary(q, fb_m, s.imaginary_tol)
        n_im_m, fmin_m = count_imaginary(md_m["qpoints"], md_m["frequencies"], s.imaginary_tol)
        metrics: Dict[str, Any] = {"n_imaginary": n_im_b + n_im_m,
                                   "min_freq_model": min(fmin_b, fmin_m),
                                   "max_freq_model": float(np.max(md_m["frequencies"]))}
        out = {"setup": {"source": st["source"], "lattice_constant": st["a"],
                         "supercell_matrix": st["supercell_matrix"],
                         "primitive_matrix": st["primitive_matrix"],
                         "n_displacements": len(ph_m.supercells_with_displacements),
                         "mesh": st["mesh"], "path": st["path"]},
               "band": {"qpoints": q, "x": band_axis(q, st["primitive_cell"]),
                        "labels": _labels(idx, st["npts"], st["path"]),
                        "model": fb_m},
               "mesh": {"weights": md_m["weights"], "model": md_m["frequencies"]},
               "dos": {"frequency": dos_m["frequency_points"], "model": dos_m["total_dos"]},
               "metrics": metrics}
        if ph_d is not None:
            fb_d = freqs_at(ph_d, q)
            md_d, dos_d = mesh_of(ph_d)
            w = np.repeat(np.array(md_d["weights"], float)[:, None],
                          np.array(md_d["frequencies"]).shape[1], axis=1)
            band_err = error_stats(fb_m, fb_d)
            mesh_err = error_stats(md_m["frequencies"], md_d["frequencies"], w)
            stored = st["band_f"][idx]
            metrics.update({
                "band_mae": band_err["mae"], "band_rmse": band_err["rmse"],
                "band_max_abs": band_err["max_abs"], "mesh_mae": mesh_err["mae"],
                "mesh_rmse": mesh_err["rmse"], "mesh_max_abs": mesh_err["max_abs"],
                "max_freq_dft": float(np.max(md_d["frequencies"])),
                "reference_rebuild_max_dev": float(np.abs(fb_d - stored).max())})
            try:
                metrics.update(self._own_lattice(calc, mat, st, disps, fb_d, md_d, q, w))
            except (ValueError, RuntimeError) as exc:      # no energy minimum near DFT's a
                metrics["own_lattice_error"] = f"{type(exc).__name__}: {exc}"
            out["band"]["dft"] = fb_d
            out["mesh"]["dft"] = md_d["frequencies"]
            out["dos"]["dft"] = dos_d["total_dos"]
            out["dos"]["frequency_dft"] = dos_d["frequency_points"]
        return out

    def _own_lattice(self, calc, mat, st, disps, band_dft, mesh_dft, q, w) -> Dict[str, Any]:
        """The model's phonons at its own lattice constant (the same displacements, the cell
        scaled to the model's energy minimum) against the DFT ones at DFT's: a model whose
        lattice is shorter than DFT's is not softened by being stretched to it."""
        own = self.cache.compute(f"{mat}_own_lattice",
                                 lambda: own_lattice_scale(calc, st["unitcell"]))
        cell = (np.array(st["unitcell"]["cell"], float) * own["scale"]).tolist()
        ph_o = make_phonopy(dict(st["unitcell"], cell=cell), st["supercell_matrix"],
                            st["primitive_matrix"], disps, symprec=st["symprec"])
        ph_o.forces = supercell_forces(ph_o, calc, self.cache, f"{mat}_own_lattice_")
        ph_o.produce_force_constants()
        ph_o.run_mesh(st["mesh"], is_gamma_center=True, is_mesh_symmetry=True)
        mesh_o, mesh_d = np.array(ph_o.mesh.frequencies), np.array(mesh_dft["frequencies"])
        return {"a_dft": float(st["a"]), "a_model": float(st["a"]) * own["scale"],
                "band_mae_own_a0": error_stats(freqs_at(ph_o, q), band_dft)["mae"],
                "mesh_mae_own_a0": error_stats(mesh_o, mesh_d, w)["mae"],
                "max_freq_model_own_a0": float(mesh_o.max())}

    @classmethod
    def report_lines(cls, results) -> List[str]:
        """Frequencies with the acoustic sum rule imposed on the force constants (phonopy
        ``symmetrize_force_constants``), DFT and models alike: the acoustic residual at Γ
        before and after, and the band-path / mesh MAE after. The model forces come from the
        cached pieces of each results directory (``source_dir``, set by the report loader);
        a model whose pieces are not there is listed as such."""
        ref = load_dft_data("phonons", missing_ok=True)
        if ref is None:
            return []
        rows = []
        for mat in ("Cu", "Si"):
            if not ref.has(mat):
                continue
            dft = asr_frequencies(ref.payload[mat])
            for lab, r in results.items():
                d = r.materials.get(mat)
                if d is None:
                    continue
                forces = _cached_forces(r, mat, ref.payload[mat])
                if forces is None:
                    rows.append(f"| {mat} | {lab} | cached forces not found | | | |")
                    continue
                m = asr_frequencies(ref.payload[mat], forces)
                w = np.repeat(np.asarray(dft["mesh_weights"], float)[:, None],
                              dft["mesh_asr"].shape[1], axis=1)
                rows.append(
                    f"| {mat} | {lab} | {dft['gamma_raw']:.3f} -> {dft['gamma_asr']:.3f} | "
                    f"{m['gamma_raw']:.3f} -> {m['gamma_asr']:.3f} | "
                    f"{error_stats(m['band_asr'], dft['band_asr'])['mae']:.3f} "
                    f"({error_stats(m['band_raw'], dft['band_raw'])['mae']:.3f}) | "
                    f"{error_stats(m['mesh_asr'], dft['mesh_asr'], w)['mae']:.3f} "
                    f"({error_stats(m['mesh_raw'], dft['mesh_raw'], w)['mae']:.3f}) |")
        if not rows:
            return []
        return ["", "With the acoustic sum rule imposed on the force constants of DFT and "
                "model alike (phonopy `symmetrize_force_constants`; the summary rows above are "
                "without it, as the reference file's frequencies). Γ: largest acoustic "
                "|frequency| at Γ [THz], without -> with the rule; MAE [THz] with the rule "
                "(without it in brackets), on the reference band path and mesh:", "",
                "| Material | Model | Γ acoustic, DFT | Γ acoustic, model | band-path MAE "
                "| mesh MAE |", "|---|---|---|---|---|---|"] + rows

    @classmethod
    def plot_results(cls, results, outdir) -> List[str]:
        from umlip.validation.plotting import colors, pyplot, save, union_of_keys

        plt = pyplot()
        col = colors(list(results))
        mats = union_of_keys(results.values(), "materials")
        out = []
        for mat in mats:
            fig, (ax, axd) = plt.subplots(1, 2, figsize=(8, 4.2), sharey=True,
                                          gridspec_kw={"width_ratios": [3, 1]})
            dft_done = False
            for lab, r in results.items():
                d = r.materials.get(mat)
                if d is None:
                    continue
                x = np.array(d["band"]["x"])
                if "dft" in d["band"] and not dft_done:
                    ax.plot(x, d["band"]["dft"], "k-", lw=1.8)
                    ax.plot([], [], "k-", label="DFT (PBE)")
                    axd.plot(d["dos"]["dft"], d["dos"]["frequency_dft"], "k-")
                    dft_done = True
                ax.plot(x, d["band"]["model"], "--", color=col[lab], lw=1.2)
                ax.plot([], [], "--", color=col[lab], label=lab)
                axd.plot(d["dos"]["model"], d["dos"]["frequency"], "--", color=col[lab])
                ticks = d["band"]["labels"]
            ax.set_xticks([x[i] for i, _ in ticks], [t for _, t in ticks])
            for i, _ in ticks:
                ax.axvline(x[i], color="gray", lw=0.5)
            ax.axhline(0, color="gray", lw=0.5)
            ax.set_xlim(x[0], x[-1])
            ax.set_ylabel("frequency [THz]")
            ax.set_title(f"{mat} phonons")
            ax.legend(fontsize=7)
            axd.set_xlabel("DOS")
            out.append(save(fig, outdir, f"phonons_{mat}.png"))
        return out


def asr_frequencies(ref: Dict[str, Any], forces: Optional[np.ndarray] = None
                    ) -> Dict[str, Any]:
    """Frequencies [THz] from the reference material block ``ref`` (``phonons.json``
    payload[material]) with its own forces, or with ``forces`` (n_displacements, n_atoms, 3)
    [eV/Å] on the same displaced supercells: on the reference band path and mesh, without
    (``*_raw``) and with (``*_asr``) the acoustic sum rule imposed on the force constants,
    and ``gamma_raw`` / ``gamma_asr``, the largest acoustic |frequency| at Γ."""
    ps = ref["phonopy_settings"]
    ds = ref["displacement_dataset"]
    if forces is not None:
        ds = {"natom": ds["natom"], "first_atoms": [
            {"number": x["number"], "displacement": x["displacement"], "forces": f}
            for x, f in zip(ds["first_atoms"], forces)]}
    out: Dict[str, Any] = {"mesh_weights": np.asarray(ref["mesh"]["weights"], float)}
    for tag, asr in (("raw", False), ("asr", True)):
        ph = make_phonopy(ref["unitcell"], ps["supercell_matrix"], ps["primitive_matrix"], ds,
                          symprec=ps.get("symprec", 1e-5))
        ph.produce_force_constants()
        if asr:
            ph.symmetrize_force_constants()
        out[f"gamma_{tag}"] = float(np.abs(freqs_at(ph, [[0.0, 0.0, 0.0]])[0][:3]).max())
        out[f"band_{tag}"] = freqs_at(ph, ref["band"]["qpoints_reduced"])
        out[f"mesh_{tag}"] = freqs_at(ph, ref["mesh"]["qpoints_reduced"])
    return out


def _cached_forces(result: "PhononResult", mat: str, ref: Dict[str, Any]
                   ) -> Optional[np.ndarray]:
    """The model's forces on the reference's displaced supercells, from the piece cache next
    to its result (``result.source_dir``): the cache version whose forces reproduce the
    result's stored band frequencies (None if none does)."""
    from umlip.io import read_json

    src = getattr(result, "source_dir", None)
    n = len(ref["displacement_dataset"]["first_atoms"])
    if src is None or not (Path(src) / "cache").is_dir():
        return None
    stored = np.asarray(result.materials[mat]["band"]["model"], float)
    q = np.asarray(result.materials[mat]["band"]["qpoints"], float)
    ps = ref["phonopy_settings"]
    for d in sorted((Path(src) / "cache").iterdir()):
        files = [d / f"{mat}_disp{k:03d}.json" for k in range(n)]
        if not all(f.is_file() for f in files):
            continue
        forces = np.array([read_json(f)["forces"] for f in files], float)
        ds = ref["displacement_dataset"]
        ph = make_phonopy(ref["unitcell"], ps["supercell_matrix"], ps["primitive_matrix"],
                          {"natom": ds["natom"], "first_atoms": [
                              {"number": x["number"], "displacement": x["displacement"],
                               "forces": f} for x, f in zip(ds["first_atoms"], forces)]},
                          symprec=ps.get("symprec", 1e-5))
        ph.produce_force_constants()
        if np.abs(freqs_at(ph, q) - stored).max() < 1e-6:
            return forces
    return None


def _labels(idx: np.ndarray, npts: int, path: List[str]) -> List[Tuple[int, str]]:
    """(position in the subsampled band, label) for the special points of the path."""
    out = []
    for k, name in enumerate(path):
        full = min(k * npts, (len(path) - 1) * npts - 1)
        pos = int(np.searchsorted(idx, full))
        out.append((min(pos, len(idx) - 1), "Γ" if name == "G" else name))
    return out
