"""The engine keeps a prepared model per unchanged file: a second load must give the same
numbers as the first, and a file rewritten in place must be read (and checked) again."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import torch
from support.structures import bulk_cu

from umlip import UMLIPCalculator
from umlip.families.analytic import export_analytic


def _energy(path):
    atoms = bulk_cu()
    atoms.calc = UMLIPCalculator(str(path))
    return atoms.get_potential_energy()


def test_rewritten_file_is_read_again(tmp_path):
    path = tmp_path / "model.pt"
    export_analytic(path, ("H", "Cu"), seed=0)
    first = _energy(path)
    assert _energy(path) == first
    other = tmp_path / "other.pt"
    export_analytic(other, ("H", "Cu"), seed=1)
    expected = _energy(other)
    assert abs(expected - first) > 1e-6    # the two seeds are different models
    shutil.copyfile(other, path)
    assert _energy(path) == pytest.approx(expected, abs=1e-12)


def test_tampered_rewrite_is_refused_after_a_good_load(tmp_path):
    path = tmp_path / "model.pt"
    export_analytic(path, ("H", "Cu"), seed=0)
    _energy(path)
    module = torch.jit.load(str(path))
    extra = {"umlip.json": ""}
    torch.jit.load(str(path), _extra_files=extra)
    with torch.no_grad():
        dict(module.named_buffers())["stages.1.weight"].add_(1e-3)    # weights are buffers
    torch.jit.save(module, str(path), _extra_files=extra)
    with pytest.raises(ValueError, match="content-hash check"):
        UMLIPCalculator(str(path))


def test_cache_off_gives_the_same_numbers(tmp_path):
    path = tmp_path / "model.pt"
    export_analytic(path, ("H", "Cu"), seed=0)
    cached = _energy(path)
    script = ("import sys; sys.path.insert(0, sys.argv[2]);"
              "from support.structures import bulk_cu; from umlip import UMLIPCalculator;"
              "a = bulk_cu(); a.calc = UMLIPCalculator(sys.argv[1]);"
              "print(repr(a.get_potential_energy()))")
    tests_dir = os.path.dirname(os.path.dirname(__file__))
    env = dict(os.environ, UMLIP_MODEL_CACHE="0", UMLIP_JIT_FREEZE="0")
    out = subprocess.run([sys.executable, "-c", script, str(path), tests_dir], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert float(out) == pytest.approx(cached, abs=1e-10)
