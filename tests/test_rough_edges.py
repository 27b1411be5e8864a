"""What a new user meets first: family checkpoints named as such, progress lines on long
steps, one-line resolve failures naming the setting, and a command line without internals."""
from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import time

import pytest

UMLIP = [sys.executable, "-m", "umlip"]


def umlip(*args, timeout=600, **env):
    return subprocess.run(UMLIP + list(args), capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **env))


# ---- family checkpoints -------------------------------------------------------------------

def _sevenn_checkpoint():
    from support.family import run_family

    p = run_family("sevenn", ["-c", "from umlip.families.sevenn import _shipped_path; "
                                    "print(_shipped_path('7net-0'))"])
    return p.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("family", ["mace", "sevenn"])
def test_family_checkpoint_names_the_export(family, request):
    from umlip import UMLIPCalculator
    from umlip.models import FamilyCheckpointError, family_checkpoint, resolve

    src = request.getfixturevalue("mace_source") if family == "mace" else _sevenn_checkpoint()
    assert family_checkpoint(src) == family
    command = f"umlip export {family} {src} -o"
    with pytest.raises(FamilyCheckpointError, match="not a umlip model file") as err:
        UMLIPCalculator(src)
    assert command in str(err.value)
    with pytest.raises(FamilyCheckpointError):
        resolve(src)
    p = umlip("info", src)
    lines = p.stderr.strip().splitlines()
    assert p.returncode != 0 and len(lines) == 1 and command in lines[0], p.stderr


def test_model_files_are_not_checkpoints(analytic_model, tmp_path):
    from umlip.models import family_checkpoint

    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x80" + bytes(100))
    assert family_checkpoint(analytic_model) is None and family_checkpoint(junk) is None


# ---- progress -----------------------------------------------------------------------------

def test_step_reports_elapsed_and_time_left():
    from umlip.progress import step

    err = io.StringIO()
    with step("doing a slow thing", expected=10, stream=err, every=0.2, label="slow thing"):
        time.sleep(0.7)
    lines = err.getvalue().splitlines()
    assert lines[0] == "umlip: doing a slow thing (usually about 10 s) ..."
    assert any(ln.startswith("umlip: slow thing: 0 s, about 10 s left") for ln in lines[1:-1])
    assert lines[-1].startswith("umlip: slow thing: done in 0.")


def test_first_export_of_a_name_reports_progress(analytic_model, tmp_path, monkeypatch, capfd):
    """resolve() of a known name: the export (here the analytic model, made slow) runs inside
    the progress step, on stderr; stdout stays clean."""
    import shutil

    import umlip.families
    import umlip.progress
    from umlip import models

    def slow_export(family, source, out, **kw):
        time.sleep(0.5)
        shutil.copy(analytic_model, out)

    monkeypatch.setenv("UMLIP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setitem(models.KNOWN_MODELS, "toy-0", models.KnownModel("mace", "toy"))
    monkeypatch.setattr(umlip.families, "export", slow_export)
    monkeypatch.setattr(models, "EXPORT_SECONDS", 5)
    monkeypatch.setattr("umlip.families.envs.importable_here", lambda family: True)
    real_step = umlip.progress.step
    monkeypatch.setattr(umlip.progress, "step", lambda *a, **k: real_step(*a, **k, every=0.2))
    path = models.resolve("toy-0")
    out, err = capfd.readouterr()
    assert path.is_file() and out == ""
    assert "umlip: exporting toy-0 (mace) into the model cache" in err
    assert "umlip: exporting toy-0: 0 s, about 5 s left" in err
    assert "umlip: exporting toy-0: done in" in err


def _model_cache(monkeypatch, tmp_path, name, family, write):
    """A model cache in tmp_path in which resolve(name) "exports" by calling write(out) (no
    family environment): returns (the cached file's path, the list of exports made)."""
    import umlip.families
    from umlip import models

    exports = []

    def export(family, source, out, **kw):
        exports.append(out)
        write(out)

    monkeypatch.setenv("UMLIP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setitem(models.KNOWN_MODELS, name, models.KnownModel(family, "toy"))
    monkeypatch.setattr(umlip.families, "export", export)
    monkeypatch.setattr("umlip.families.envs.importable_here", lambda family: True)
    cached = models.cached_path(name)
    cached.parent.mkdir(parents=True)
    return cached, exports


def test_stale_cached_export_is_exported_again(analytic_model, tmp_path, monkeypatch, capfd):
    """A cached file from an older umlip (an older contract version: e.g. without the layered
    form) is exported again on resolve(); a current one is reused without exporting."""
    import shutil

    from support.model_files import rewrite_metadata
    from umlip import engine, models

    cached, exports = _model_cache(monkeypatch, tmp_path, "toy-0", "mace",
                                   lambda out: shutil.copy(analytic_model, out))
    rewrite_metadata(analytic_model, cached, lambda m: m.update(contract_version="1.1"))
    assert models.file_contract_version(cached) == "1.1"
    assert models.resolve("toy-0") == cached and len(exports) == 1
    assert models.file_contract_version(cached) == engine.CONTRACT_VERSION
    assert "states contract version 1.1, this umlip writes" in capfd.readouterr().err
    models.resolve("toy-0")
    assert len(exports) == 1


def test_cached_export_with_older_kernels_is_exported_again(analytic_model, tmp_path,
                                                            monkeypatch, capfd):
    """A cached SevenNet file made with the family's e3nn kernels (or before kernels were
    recorded) is exported again, so that a model name gets the batched kernels; a file that
    has them is reused."""
    from support.model_files import rewrite_metadata
    from umlip import models

    def batched(m):
        m.update(family="sevenn", options={"kernels": "batched"})

    cached, exports = _model_cache(monkeypatch, tmp_path, "toy-7", "sevenn",
                                   lambda out: rewrite_metadata(analytic_model, out, batched))
    for options in ({}, {"kernels": "e3nn"}):
        rewrite_metadata(analytic_model, cached,
                         lambda m: m.update(family="sevenn", options=options))
        n = len(exports)
        assert models.resolve("toy-7") == cached and len(exports) == n + 1
    assert "has the e3nn kernels, this umlip's default is batched" in capfd.readouterr().err
    models.resolve("toy-7", progress=False)
    assert len(exports) == 2


# ---- umlip resolve: one line naming the setting ---------------------------------------------

@pytest.mark.parametrize("case", ["cache is a file", "cache below a file", "cache unusable",
                                  "no export interpreter"])
def test_resolve_failure_names_the_setting(tmp_path, case):
    afile = tmp_path / "afile"
    afile.write_text("")
    env = {"UMLIP_CACHE_DIR": str(tmp_path / "cache"), "UMLIP_SEVENN_PYTHON": sys.executable}
    if case == "cache is a file":
        env["UMLIP_CACHE_DIR"] = str(afile)
    elif case == "cache below a file":
        env["UMLIP_CACHE_DIR"] = str(afile / "cache")
    elif case == "cache unusable":       # not creatable even by root
        env["UMLIP_CACHE_DIR"] = "/proc/umlip-cache"
    else:
        env["UMLIP_SEVENN_PYTHON"] = str(tmp_path / "no-python")
    p = umlip("resolve", "7net-0", timeout=300, **env)
    lines = p.stderr.splitlines()
    setting = "UMLIP_SEVENN_PYTHON" if case == "no export interpreter" else "UMLIP_CACHE_DIR"
    assert p.returncode == 1 and p.stdout == "", p
    assert lines and lines[-1].startswith("umlip: ") and setting in lines[-1], lines
    assert "Traceback" not in p.stderr


# ---- the command line ---------------------------------------------------------------------

def _parsers(parser, prog="umlip"):
    yield prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{prog} {name}")


def test_every_help_text():
    from umlip.cli import build_parser

    seen = []
    for prog, parser in _parsers(build_parser()):
        seen.append(prog)
        text = parser.format_help()
        for word in ("(default: None)", "(default: False)", "issue", "session", "TODO"):
            assert word not in text, f"{prog} --help contains {word!r}:\n{text}"
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if action.help == argparse.SUPPRESS:
                continue
            assert action.help, f"{prog}: {action.option_strings or action.dest} has no help"
    assert {"umlip export", "umlip selftest", "umlip validate run"} <= set(seen)


def test_version_and_models():
    import umlip

    p = subprocess.run(UMLIP + ["--version"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == f"umlip {umlip.__version__}"
    p = subprocess.run(UMLIP + ["models"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "umlip export mace" in p.stdout and "7net-0" in p.stdout


@pytest.mark.parametrize("args", [["models"], ["info", "MODEL"]])
def test_closed_pipe_is_quiet(analytic_model, args):
    """`umlip models | head -1`: the reader is gone before umlip writes; no traceback."""
    args = [analytic_model if a == "MODEL" else a for a in args]
    r, w = os.pipe()
    os.close(r)
    p = subprocess.run(UMLIP + args, stdout=w, stderr=subprocess.PIPE, text=True, timeout=120)
    os.close(w)
    assert p.returncode == 0 and "Traceback" not in p.stderr and "Error" not in p.stderr, \
        p.stderr


def test_cuda_error_names_the_device(analytic_model):
    import torch

    from umlip import UMLIPCalculator

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here; the refusal is for machines without CUDA")
    for device in ("cuda", "cuda:1"):
        with pytest.raises(ValueError, match=f"device '{device}'"):
            UMLIPCalculator(analytic_model, device=device)
