"""SevenNet-0 on umlip's batched convolution kernels (umlip.families.batched_tp, the default
export) against the same model on sevenn's own e3nn kernels (``--kernels e3nn``), both run by
the engine on the parity structures, all sizes in one Model per file:

- float64: energies, forces and stress agree to <= 1e-8 (eV, eV/Å, eV/Å^3); the two
  compute the same sums in another order, so round-off (~1e-12) is all that may differ;
- float32: against the float64 e3nn file, the batched kernels' force error is at most
  1e-4 eV/Å at its largest and no more than twice the e3nn kernels' own float32 error plus
  1e-5 eV/Å (another summation order, not a loss of precision).

Against sevenn's calculator the default export is checked by the exporter's self-check and by
test_parity.py. The module itself is compared with e3nn's tensor product on random inputs in
the sevenn environment (float64 <= 1e-12), for the tensor products of SevenNet-0's first and
later layers built in float64.

MACE (the default as for SevenNet, through mace-torch's fused-convolution hook, e3nn 0.4.4):
a plain MACE and a ScaleShiftMACE with RealAgnostic(Residual) interactions, 3 layers, l up to
3, exported both ways in float64, agree to <= 1e-8 on the same structures; a model whose
interaction blocks are of another kind is refused with the flag to use.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from support.family import run_family
from support.structures import PARITY

from umlip import engine


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """7net-0 exported four ways: {(kernels, dtype): path} (about 40 s)."""
    d = tmp_path_factory.mktemp("kernels")
    out = {}
    for kernels in ("batched", "e3nn"):
        for dtype in ("float64", "float32"):
            path = str(d / f"{kernels}_{dtype}.pt")
            run_family("sevenn", ["-m", "umlip", "export", "sevenn", "7net-0", "-o", path,
                                  "--dtype", dtype, "--kernels", kernels])
            out[kernels, dtype] = path
    return out


def _run(path):
    model = engine.Model(path)
    res = []
    for make in PARITY.values():
        a = make()
        res.append(model.compute(a.positions, a.numbers, a.cell.array, a.pbc))
    return model, res


def test_the_files_record_their_kernels(files):
    for (kernels, dtype), path in files.items():
        meta = json.loads(engine.Model(path).metadata_json)
        assert meta["options"]["kernels"] == kernels and meta["dtype"] == dtype


def test_batched_kernels_equal_e3nn_kernels_in_float64(files):
    _, ours = _run(files["batched", "float64"])
    _, ref = _run(files["e3nn", "float64"])
    for name, o, r in zip(PARITY, ours, ref):
        assert abs(o["energy"] - r["energy"]) <= 1e-8, name
        assert np.max(np.abs(o["forces"] - r["forces"])) <= 1e-8, name
        if "stress" in r and r["stress"] is not None:
            assert np.max(np.abs(np.asarray(o["stress"]) - np.asarray(r["stress"]))) <= 1e-8
    # the structures exercise the model: forces far from zero somewhere
    assert max(np.max(np.abs(r["forces"])) for r in ref) > 1.0


def test_batched_kernels_in_float32_keep_the_precision_of_e3nn_kernels(files):
    _, exact = _run(files["e3nn", "float64"])
    _, ours = _run(files["batched", "float32"])
    _, theirs = _run(files["e3nn", "float32"])
    err_ours = max(np.max(np.abs(o["forces"] - x["forces"])) for o, x in zip(ours, exact))
    err_theirs = max(np.max(np.abs(t["forces"] - x["forces"])) for t, x in zip(theirs, exact))
    assert err_ours <= 1e-4, f"float32 batched kernels: max |dF| {err_ours:.2e} eV/Å"
    assert err_ours <= 2 * err_theirs + 1e-5, (err_ours, err_theirs)


MODULE_CHECK = r"""
import torch
from e3nn.o3 import TensorProduct
from umlip.families.sevenn import build_model
from umlip.families.batched_tp import UVUConvolution
model, _, _ = build_model("7net-0")
g = torch.Generator().manual_seed(0)
worst = 0.0
torch.set_default_dtype(torch.float64)   # exact coefficients (sevenn builds in float32)
for key in ("0_convolution", "3_convolution"):
    tp = TensorProduct(**model._modules[key].convolution_kwargs)
    ours = UVUConvolution(tp)
    n, e = 7, 40
    x = torch.randn(n, tp.irreps_in1.dim, generator=g, dtype=torch.float64)
    sh = torch.randn(e, tp.irreps_in2.dim, generator=g, dtype=torch.float64)
    w = torch.randn(e, tp.weight_numel, generator=g, dtype=torch.float64)
    src = torch.randint(0, n, (e,), generator=g)
    dst = torch.randint(0, n, (e,), generator=g)
    ref = torch.zeros(n, tp.irreps_out.dim, dtype=torch.float64)
    ref = ref.index_add(0, dst, tp(x[src], sh, w))
    out = torch.jit.script(ours)(x, sh, w, src, dst)
    assert out.shape == ref.shape
    assert ref.abs().max() > 1.0
    worst = max(worst, (out - ref).abs().max().item())
print("MAXDIFF", worst)
"""


def test_uvu_convolution_equals_the_e3nn_tensor_product():
    proc = run_family("sevenn", ["-c", MODULE_CHECK])
    worst = float(proc.stdout.split("MAXDIFF")[1])
    assert worst <= 1e-12, worst


@pytest.fixture(scope="module")
def mace_files(tmp_path_factory):
    """Two small mace-torch models (plain MACE, ScaleShiftMACE), each exported with both
    kernels in float64: [(batched, e3nn), ...]."""
    d = tmp_path_factory.mktemp("mace_kernels")
    out = []
    for variant, flags in (("plain", ["--plain"]), ("scaleshift", [])):
        src = str(d / f"{variant}.model")
        run_family("mace", ["-m", "umlip.families.mace", src, "--layers", "3",
                            "--hidden", "16x0e+16x1o+16x2e", "--seed", "4", *flags])
        pair = []
        for kernels in ("batched", "e3nn"):
            path = str(d / f"{variant}_{kernels}.pt")
            run_family("mace", ["-m", "umlip", "export", "mace", src, "-o", path,
                                "--kernels", kernels])
            pair.append(path)
        out.append(tuple(pair))
    return out


def test_mace_batched_kernels_equal_e3nn_kernels_in_float64(mace_files):
    for batched, e3nn in mace_files:
        meta = json.loads(engine.Model(batched).metadata_json)
        assert meta["options"]["kernels"] == "batched"
        _, ours = _run(batched)
        _, ref = _run(e3nn)
        for name, o, r in zip(PARITY, ours, ref):
            assert abs(o["energy"] - r["energy"]) <= 1e-8, name
            assert np.max(np.abs(o["forces"] - r["forces"])) <= 1e-8, name
        assert max(np.max(np.abs(r["forces"])) for r in ref) > 0.1


REFUSAL_CHECK = r"""
import mace, sys, torch
from mace.modules.blocks import RealAgnosticResidualInteractionBlock
from umlip.contract import ExportError
from umlip.families.mace import use_batched_kernels
model = torch.load(sys.argv[1], weights_only=False)

class Other(RealAgnosticResidualInteractionBlock):
    pass

model.interactions[1].__class__ = Other
try:
    use_batched_kernels(model)
except ExportError as exc:
    print("REFUSED", exc)
"""


def test_mace_batched_kernels_refuse_unchecked_interaction_blocks(tmp_path):
    src = str(tmp_path / "m.model")
    run_family("mace", ["-m", "umlip.families.mace", src, "--layers", "2"])
    out = run_family("mace", ["-c", REFUSAL_CHECK, src]).stdout
    assert "REFUSED interaction 1 is a Other" in out and "--kernels e3nn" in out
