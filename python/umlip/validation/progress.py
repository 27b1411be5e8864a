"""A tiny progress printer (no tqdm in the runtime environment).

    p = Progress("reactive_md", total=80)
    p.update(info="E=0.5 eV traj 3")      # one step done
    p.close()

Writes one carriage-return-updated line to stderr on a terminal, or a plain line at most
every ``min_interval`` seconds otherwise (log files). ``enabled=False`` silences it.
"""
from __future__ import annotations

import sys
import time
from typing import Optional, TextIO


class Progress:
    def __init__(self, desc: str, total: Optional[int] = None, enabled: bool = True,
                 stream: Optional[TextIO] = None, min_interval: float = 5.0):
        self.desc, self.total, self.enabled = desc, total, enabled
        self.stream = stream or sys.stderr
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self.min_interval = 0.2 if self.tty else min_interval
        self.n, self.t0, self._last = 0, time.time(), 0.0

    def _line(self, info: str) -> str:
        el = time.time() - self.t0
        if self.total:
            frac = self.n / self.total
            eta = f", ETA {el / frac - el:5.0f} s" if 0 < frac < 1 else ""
            head = f"[{self.desc}] {self.n}/{self.total} ({100 * frac:3.0f}%) {el:6.1f} s{eta}"
        else:
            head = f"[{self.desc}] {self.n} done, {el:6.1f} s"
        return f"{head}  {info}" if info else head

    def update(self, n: int = 1, info: str = "", force: bool = False) -> None:
        self.n += n
        if not self.enabled:
            return
        now = time.time()
        done = self.total is not None and self.n >= self.total
        if not (force or done or now - self._last >= self.min_interval):
            return
        self._last = now
        if self.tty:
            self.stream.write("\r\033[K" + self._line(info))
        else:
            self.stream.write(self._line(info) + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        if self.enabled:
            self.stream.write(("\r\033[K" if self.tty else "") + f"[{self.desc}] {text}\n")
            self.stream.flush()

    def close(self, info: str = "done") -> None:
        if self.enabled:
            self.update(0, info, force=True)
            if self.tty:
                self.stream.write("\n")
                self.stream.flush()
