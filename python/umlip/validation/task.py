"""Base classes of the benchmark tasks (phonopy style: configure, run, read the result).

    t = DissociationTask(quick=True)        # settings + DFT references (whatever exists)
    t.run(calc)                             # any ASE calculator
    t.result.save("dissociation.json")      # a TaskResult dataclass, JSON round trip
    t.plot("plots/")                        # PNG files

Work is split into pieces cached in ``cache`` (a :class:`~umlip.validation.cache.Cache`), keyed
by a fingerprint of the settings and the reference hashes, so an interrupted run resumes and
a run with different settings does not reuse stale pieces.

Tasks whose pieces are independent (MD trajectories; hot-MD systems) can be split across
processes or machines: ``shard=(i, n)`` computes only the pieces ``index % n == i`` and
takes the others from the cache when they are there; the ones still missing are listed in
``deferred`` (the result is then incomplete: see :mod:`umlip.validation.runner`).
"""
from __future__ import annotations

import dataclasses
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Dict, List, Optional, Sequence, Tuple, Type

from ase.calculators.calculator import Calculator

from umlip.io import PathLike, read_json, to_jsonable, write_json
from umlip.validation.cache import Cache, fingerprint
from umlip.validation.calculators import describe
from umlip.validation.dft_data import DFTData, load_dft_data
from umlip.validation.md import LAMMPSModel, get_backend
from umlip.validation.progress import Progress


class PieceDeferred(Exception):
    """A piece that another shard computes is not in the cache yet."""


def check_shard(shard: Tuple[int, int]) -> Tuple[int, int]:
    """``shard = (i, n)``, 0-based ``i``, checked (ValueError saying ``i/n`` 1-based)."""
    i, n = shard
    if not (n >= 1 and 0 <= i < n):
        raise ValueError(f"shard {i + 1}/{n}: need 1 <= i <= n")
    return i, n


@dataclass
class Metric:
    """One number of the side-by-side summary table.

    ``value`` is the model's number; ``reference`` the DFT number it should be compared
    with (None if the DFT data is missing or the metric has no DFT counterpart). ``backend``
    belongs to the cell, not the row: models of one row may have run on different engines."""

    key: str
    label: str
    unit: str
    value: Optional[float]
    reference: Optional[float] = None
    note: str = ""
    backend: str = ""    # the engine that produced this model's number (MD: "ase"/"lammps")

    @staticmethod
    def neb_note(model: dict, dft: dict) -> str:
        """The caveats of a barrier from a model CI-NEB result ``model`` compared with the
        DFT NEB summary ``dft`` (keys as the tasks store them): unconverged, partial."""
        out = []
        if model.get("optimizer_converged") is False:
            out.append(f"model NEB not converged (max force "
                       f"{model.get('max_neb_force_final', float('nan')):.2f} eV/Å)")
        if dft.get("partial"):
            out.append("DFT NEB partial")
        return "; ".join(out)

    @property
    def error(self) -> Optional[float]:
        if self.value is None or self.reference is None:
            return None
        return self.value - self.reference


@dataclass
class TaskResult:
    """Fields common to every task result (subclasses add the task's own, with units).

    Attributes
    ----------
    task : task name
    calculator : description of the calculator (label, class, model file, hash, dtype)
    settings : the task settings used (units in the settings class docstring)
    references : per reference file: sha256, missing/partial sections, or state 'missing'
    backend : which engine produced the numbers (``"ase"``; MD tasks: the MD backend)
    wall_time_s : wall time of the run that completed the result [s]
    errors : pieces that failed: ``{"piece", "error"}``
    notes : human-readable remarks (what was compared with what, what was skipped)
    """

    task: str = ""
    calculator: Dict[str, Any] = field(default_factory=dict)
    settings: Dict[str, Any] = field(default_factory=dict)
    references: Dict[str, Any] = field(default_factory=dict)
    backend: str = "ase"
    wall_time_s: float = 0.0
    errors: List[Dict[str, str]] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        return to_jsonable(asdict(self))

    def save(self, path: PathLike) -> Path:
        return write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "TaskResult":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @classmethod
    def load(cls, path: PathLike) -> "TaskResult":
        return cls.from_dict(read_json(path))

    def summary(self) -> List[Metric]:
        """Metrics for the side-by-side table (subclasses override)."""
        return []

    @property
    def label(self) -> str:
        return str(self.calculator.get("label", "model"))


class Task:
    """Base class: subclasses set name/title/Settings/Result/reference_names, implement
    ``_run(calc) -> Result`` and ``plot_results(results, outdir) -> [png paths]``."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    Settings: ClassVar[Type[Any]]
    Result: ClassVar[Type[TaskResult]] = TaskResult
    reference_names: ClassVar[Sequence[str]] = ()
    #: settings that do not change any cached piece (see :meth:`fingerprint`)
    piece_independent: ClassVar[Sequence[str]] = ()
    #: bump when the content of cached pieces changes (old caches are then not reused)
    version: ClassVar[int] = 1
    #: the task computes its pieces through :meth:`piece` with an index (``--shard``)
    shardable: ClassVar[bool] = False

    def __init__(self, settings: Any = None, quick: bool = False,
                 reference_dir: Optional[PathLike] = None, cache: Optional[Cache] = None,
                 progress: bool = True, backend: str = "ase",
                 lammps_model: Optional[LAMMPSModel] = None,
                 shard: Tuple[int, int] = (0, 1)):
        self.settings = settings if settings is not None else (
            self.Settings.quick() if quick else self.Settings())
        self.refs: Dict[str, Optional[DFTData]] = {
            n: load_dft_data(n, reference_dir, missing_ok=True) for n in self.reference_names}
        self._cache_root = cache if cache is not None else Cache(None)
        self.cache = self._cache_root
        self.show_progress = progress
        self.backend = backend
        self.lammps_model = lammps_model
        i, n = check_shard(shard)
        if n > 1 and not self.shardable:
            raise ValueError(f"task {self.name} cannot be split into shards")
        self.shard = (i, n)
        self.deferred: List[str] = []
        self.result: Optional[TaskResult] = None

    # -- helpers for subclasses -------------------------------------------------------------
    def md_backend(self):
        """The MD backend named by ``backend`` (``lammps``: running ``lammps_model``)."""
        return get_backend(self.backend, self.lammps_model)

    def progress(self, total: Optional[int] = None, desc: Optional[str] = None) -> Progress:
        return Progress(desc or self.name, total, enabled=self.show_progress)

    def reference_summary(self) -> Dict[str, Any]:
        return {n: (r.status() if r is not None else {"name": n, "state": "missing"})
                for n, r in self.refs.items()}

    def missing_reference_notes(self) -> List[str]:
        """Notes on missing reference files, and on missing or unfinished sections of the
        files the task reads whole (not of those it takes a few values from)."""
        out = []
        inputs = self.reference_inputs()
        for n, r in self.refs.items():
            if r is None:
                out.append(f"DFT reference {n}.json is missing: model numbers only, no "
                           "comparison")
            elif inputs.get(n) == r.sha256:
                if r.missing:
                    out.append(f"{n}.json lacks {', '.join(r.missing)} (recipe stage not run "
                               "yet): those comparisons are skipped")
                if r.partial:
                    out.append(f"{n}.json: {', '.join(r.partial)} in progress (unconverged); "
                               "compared but marked partial")
        return out

    def piece(self, key: str, fn, index: int):
        """The cached piece ``key``; if absent, ``fn()`` computed and stored when this
        process's shard owns ``index`` (``index % n == i``), else :class:`PieceDeferred`
        (the key is added to ``deferred``)."""
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        i, n = self.shard
        if index % n != i:
            self.deferred.append(key)
            raise PieceDeferred(key)
        return self.cache.compute(key, fn)

    @staticmethod
    def guarded(result: TaskResult, piece: str, fn, *args, **kwargs):
        """Run one independent piece; on failure record the error and return None (also
        None, without an error, for a piece left to another shard)."""
        try:
            return fn(*args, **kwargs)
        except PieceDeferred:
            return None
        except Exception as exc:  # noqa: BLE001 - a failing piece must not stop the task
            result.errors.append({"piece": piece, "error": f"{type(exc).__name__}: {exc}",
                                  "traceback": traceback.format_exc(limit=4)})
            return None

    # -- public API -------------------------------------------------------------------------
    def fingerprint(self, pieces: bool = False) -> str:
        """Short hash of everything that determines the result besides the calculator:
        task, settings, MD backend and the sha256 of each reference file used.

        ``pieces=True``: the key of the piece cache, without the settings listed in
        ``piece_independent`` (e.g. the number of trajectories: adding trajectories reuses
        the ones already run)."""
        settings = asdict(self.settings)
        if pieces:
            settings = {k: v for k, v in settings.items() if k not in self.piece_independent}
        return fingerprint({"task": self.name, "version": self.version, "settings": settings,
                            "backend": self.backend, "refs": self.reference_inputs()})

    def reference_inputs(self) -> Dict[str, Any]:
        """What the task's numbers depend on in its reference files, for :meth:`fingerprint`:
        by default the sha256 of each file. A task that uses only a few values (the MD tasks
        take the lattice constant) returns those, so that DFT data added to a file for other
        tasks does not throw away days of cached trajectories."""
        return {n: (r.sha256 if r else None) for n, r in self.refs.items()}

    @classmethod
    def reads_whole_references(cls) -> bool:
        """False when the task overrides :meth:`reference_inputs` (its numbers depend on a
        few values of its reference files, not on every byte)."""
        return cls.reference_inputs is Task.reference_inputs

    def run(self, calc: Calculator, calculator_info: Optional[Dict[str, Any]] = None, *,
            all_shards_ended: Optional[Callable[[], bool]] = None) -> TaskResult:
        """Compute the result with ``calc`` (cached pieces are reused) and return it.

        As one of several shards, a first pass computes this shard's pieces and takes the
        others' from the cache; those still missing are listed in ``deferred``. A second pass
        assembles the whole result when they are all cached by now (their shards finished
        meanwhile), or when ``all_shards_ended()`` says every shard of the run has ended (their
        owners failed on them): it then computes them here, as a serial run would. Otherwise
        the result is incomplete and ``deferred`` says what it lacks.
        """
        t0 = time.time()
        settings = asdict(self.settings)
        self.cache = self._cache_root.child(self.fingerprint(pieces=True))
        res = self._pass(calc)
        if self.deferred and (all(self.cache.get(k) is not None for k in set(self.deferred))
                              or (all_shards_ended is not None and all_shards_ended())):
            self.shard = (0, 1)
            res = self._pass(calc)
        res.task = self.name
        res.calculator = calculator_info or describe(calc)
        res.settings = to_jsonable(settings)
        res.references = self.reference_summary()
        res.backend = res.backend or self.backend
        res.notes = self.missing_reference_notes() + res.notes
        res.wall_time_s = time.time() - t0
        self.result = res
        return res

    def _pass(self, calc: Calculator) -> TaskResult:
        self.deferred = []
        return self._run(calc)

    def _run(self, calc: Calculator) -> TaskResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def plot(self, outdir: PathLike) -> List[str]:
        if self.result is None:
            raise RuntimeError("run() the task first")
        return self.plot_results({self.result.label: self.result}, outdir)

    @classmethod
    def plot_results(cls, results: Dict[str, TaskResult], outdir: PathLike) -> List[str]:
        return []

    @classmethod
    def report_lines(cls, results: Dict[str, TaskResult]) -> List[str]:
        """Markdown lines the report adds to the task's section, derived from the results of
        all models together (e.g. model-vs-model significance); none by default."""
        return []
