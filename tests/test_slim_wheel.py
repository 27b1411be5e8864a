"""tools/slim_wheel.py: the slimmed wheel lacks the dropped members, keeps the others byte for
byte, and its RECORD lists exactly what is left with the right hashes (pip installs from it)."""
from __future__ import annotations

import base64
import hashlib
import importlib.util
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _slim_module():
    spec = importlib.util.spec_from_file_location("slim_wheel", ROOT / "tools" / "slim_wheel.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_slim_wheel_drops_members_and_rewrites_record(tmp_path):
    src = tmp_path / "in" / "pkg-1.0-py3-none-any.whl"
    src.parent.mkdir()
    members = {"pkg/__init__.py": b"x = 1\n", "pkg/lib.so": b"\0" * 1000,
               "pkg/lib.so.0": b"\0" * 1000, "pkg/share/data.txt": b"big\n" * 100,
               "pkg-1.0.dist-info/METADATA": b"Name: pkg\nVersion: 1.0\n"}
    with zipfile.ZipFile(src, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
        z.writestr("pkg-1.0.dist-info/RECORD", "stale\n")
    (tmp_path / "out").mkdir()
    out = _slim_module().slim(src, tmp_path / "out", ["pkg/share/*", "pkg/lib.so.0"])
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        assert names == {"pkg/__init__.py", "pkg/lib.so", "pkg-1.0.dist-info/METADATA",
                         "pkg-1.0.dist-info/RECORD"}
        assert all(z.read(n) == members[n] for n in names - {"pkg-1.0.dist-info/RECORD"})
        rows = [r.split(",") for r in z.read("pkg-1.0.dist-info/RECORD").decode().split()]
    assert {r[0] for r in rows} == names
    for name, digest, size in rows:
        if name.endswith("RECORD"):
            assert digest == size == ""
            continue
        expect = base64.urlsafe_b64encode(hashlib.sha256(members[name]).digest()).rstrip(b"=")
        assert digest == "sha256=" + expect.decode() and int(size) == len(members[name])
