#!/usr/bin/env python3
"""Check the payload sha256 of every reference JSON in ../data (stdlib only).

    python3 python/umlip/bench/reference/verify.py [files...]
Exit code 0 if all hashes match.
"""
import glob
import hashlib
import json
import os
import sys


def payload_sha256(payload):
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def main(files):
    if not files:
        here = os.path.dirname(os.path.abspath(__file__))
        files = sorted(glob.glob(os.path.join(here, "..", "data", "*.json")))
    bad = 0
    for f in files:
        with open(f) as fh:
            doc = json.load(fh)
        ok = payload_sha256(doc["payload"]) == doc["sha256"]
        size = os.path.getsize(f)
        print(f"{'OK ' if ok else 'BAD'} {os.path.basename(f)} ({size / 1024:.0f} KiB)")
        bad += (not ok) or size >= 1 << 20
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
