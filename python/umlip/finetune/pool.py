"""The candidate pool file: configurations, their provenance and the rankings that define the
nested training sets, with what made them (base model hash, settings, versions)."""
from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence

from umlip.io import PathLike, atoms_from_record, atoms_to_record, payload_sha256, read_json
from umlip.io import write_json

SCHEMA = "umlip-finetune-pool/1"
RANK_SEEDS = (0, 1, 2)


def ranking_key(strategy: str, seed: int) -> str:
    return f"{strategy}:{seed}"


def config_id(record: Dict[str, Any]) -> str:
    """A configuration's name: the first 16 hex digits of the hash of its geometry."""
    geometry = {k: record[k] for k in ("numbers", "positions", "cell", "pbc")}
    return payload_sha256(geometry)[:16]


def build_pool(base_model: str, quick: bool = False, seed: int = None) -> Dict[str, Any]:
    """Generate the pool with ``base_model`` (a model file or name) and rank it."""
    import umlip
    from umlip import UMLIPCalculator
    from umlip.finetune.sampling import PoolSettings, generate_pool, settings_dict
    from umlip.validation.dft_data import load_dft_data
    from umlip.validation.tasks.surface import dft_lattice_constant

    s = PoolSettings.quick() if quick else PoolSettings()
    if seed is not None:
        s.seed = seed
    calc = UMLIPCalculator(base_model, dtype="float64")
    ref = load_dft_data("h_cu111", missing_ok=True)
    a0, a0_source = dft_lattice_constant(ref)
    t0 = time.time()
    entries = generate_pool(calc, a0, s)
    configs = []
    for atoms, prov in entries:
        rec = atoms_to_record(atoms, position_decimals=8)
        rec["id"] = config_id(rec)
        rec["provenance"] = prov
        configs.append(rec)
    pool = {"schema": SCHEMA, "system": "H2 on Cu(111), p(2x2) 3 layers (as h_cu111)",
            "base_model": {"name": str(base_model), "content_hash": calc.model.content_hash},
            "settings": settings_dict(s), "a0": a0, "a0_source": a0_source,
            "reference_sha256": ref.sha256 if ref else None,
            "versions": {"umlip": getattr(umlip, "__version__", "unknown"),
                         "python": platform.python_version()},
            "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "wall_time_s": time.time() - t0, "configs": configs}
    return add_rankings(pool)


def add_rankings(pool: Dict[str, Any]) -> Dict[str, Any]:
    """(Re)compute the pool's rankings from its configurations (every strategy, RANK_SEEDS)."""
    from umlip.finetune.sampling import STRATEGIES, rank

    structures = [atoms_from_record(c) for c in pool["configs"]]
    pool["rankings"] = {ranking_key(st, k): rank(structures, st, k) for st in STRATEGIES
                        for k in RANK_SEEDS}
    return pool


#: the foundation committee: three SevenNet models trained on different data and architecture
DEFAULT_COMMITTEE = ("7net-0", "7net-0_22may2024", "7net-l3i5")


def add_committee_ranking(pool: Dict[str, Any], members: Sequence[str] = DEFAULT_COMMITTEE,
                          progress=None) -> Dict[str, Any]:
    """Rank the pool by a committee's disagreement (:func:`committee_rank`): the largest
    per-atom force deviation (DeePMD's max_devi_f) of ``members`` on every configuration,
    stored with the members' content hashes; the ranking is ``committee:0``."""
    from umlip import UMLIPCalculator
    from umlip.finetune.sampling import COMMITTEE, committee_rank

    if len(members) < 2:
        raise ValueError("a committee needs at least two models")
    calc = UMLIPCalculator(list(members), dtype="float64")
    structures = [atoms_from_record(c) for c in pool["configs"]]
    deviation = []
    for k, atoms in enumerate(structures):
        atoms.calc = calc
        atoms.get_potential_energy()
        deviation.append(float(calc.results["forces_std"].max()))
        if progress:
            progress(k + 1, len(structures))
    pool["committee"] = {
        "members": [{"name": str(m), "content_hash": h}
                    for m, h in zip(members, [calc.model.content_hash] +
                                                 [m.content_hash for m in calc.members])],
        "max_devi_f": deviation,
        "rule": "largest per-atom force deviation sqrt(<|F_k - <F>|^2>) over atoms [eV/Å], "
                "float64"}
    pool["rankings"][ranking_key(COMMITTEE, 0)] = committee_rank(structures, deviation)
    return pool


def write_pool(path: PathLike, pool: Dict[str, Any]) -> Path:
    return write_json(path, pool)


def read_pool(path: PathLike) -> Dict[str, Any]:
    pool = read_json(path)
    if pool.get("schema") != SCHEMA:
        raise ValueError(f"{path} is not a fine-tuning pool file (schema {pool.get('schema')!r},"
                         f" expected {SCHEMA})")
    return pool


def training_set(pool: Dict[str, Any], strategy: str, seed: int, budget: int) -> List[str]:
    """Ids of the first ``budget`` configurations of one ranking (nested in ``budget``)."""
    key = ranking_key(strategy, seed)
    if key not in pool["rankings"]:
        hint = ("; add it with umlip finetune rank POOL" if strategy == "committee" else "")
        raise ValueError(f"the pool has no ranking {key!r}; it has "
                         f"{', '.join(sorted(pool['rankings']))}{hint}")
    order = pool["rankings"][key]
    if budget > len(order):
        raise ValueError(f"budget {budget} is larger than the pool ({len(order)} "
                         f"configurations)")
    return [pool["configs"][i]["id"] for i in order[:budget]]


def configs_by_id(pool: Dict[str, Any], ids: Sequence[str]) -> List[Dict[str, Any]]:
    index = {c["id"]: c for c in pool["configs"]}
    return [index[i] for i in ids]
