"""Model files edited on purpose, for tests of what the engine refuses."""
from __future__ import annotations

import json
import zipfile


def rewrite_metadata(src, dst, change):
    """Copy a model file, editing its umlip.json (the zip entry) with `change`."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith("/extra/umlip.json"):
                meta = json.loads(data)
                change(meta)
                data = json.dumps(meta).encode()
            zout.writestr(item, data)
