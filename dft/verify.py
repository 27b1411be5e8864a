#!/usr/bin/env python3
"""Check the payload sha256 of every DFT data file (python/umlip/validation/data/*.json).

    PYTHONPATH=python python3 dft/verify.py [files...]      # from the repository root
Exit code 0 if all hashes match and every file is under 1 MiB. Needs only the standard library
and numpy (umlip.io); ``umlip validate dft-data`` also checks that the files are complete.
"""
import os
import sys

try:
    from umlip.io import payload_sha256, read_json
    from umlip.validation.dft_data import PACKAGE_DATA_DIR
except ImportError as exc:
    sys.exit(f"dft/verify.py: {exc}: run it from the repository root with PYTHONPATH=python")


def main(files):
    files = files or sorted(str(p) for p in PACKAGE_DATA_DIR.glob("*.json"))
    bad = 0
    for f in files:
        doc = read_json(f)
        ok = payload_sha256(doc["payload"]) == doc["sha256"]
        size = os.path.getsize(f)
        print(f"{'OK ' if ok else 'BAD'} {os.path.basename(f)} ({size / 1024:.0f} KiB)")
        bad += (not ok) or size >= 1 << 20
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
