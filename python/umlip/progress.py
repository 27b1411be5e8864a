"""Progress lines on stderr for every step that can take more than a few seconds (no tqdm in the
runtime environment). Two forms:

    with step("exporting 7net-0 into the model cache", expected=40):
        ...                                   # one step of unknown length

    p = Progress("NVE", total=200)            # a step made of counted parts
    p.update(info="E=0.5 eV")                 # one part done
    p.close()

On a terminal each writes one line that it rewrites in place (``step`` removes its line when
done); elsewhere (log files, a program reading stderr) it writes plain lines: ``step`` a line at
the start, one every ``every`` seconds with the elapsed time (and the time left while under
``expected``), and one at the end; ``Progress`` at most one every ``min_interval`` seconds, with
an ETA. ``enabled=False`` silences both. Lines start with ``umlip: `` (``step``) or
``[desc]`` (``Progress``).
"""
from __future__ import annotations

import contextlib
import sys
import threading
import time
from typing import Iterator, Optional, TextIO

_CLEAR = "\r\033[K"


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _write(stream, text: str) -> None:
    try:
        sys.stdout.flush()          # keep stdout's lines before ours on a shared terminal
    except (OSError, ValueError):
        pass
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):   # a closed or broken stderr must not stop the work
        pass


@contextlib.contextmanager
def step(what: str, expected: Optional[float] = None, stream: Optional[TextIO] = None,
         every: float = 10.0, enabled: bool = True, label: Optional[str] = None
         ) -> Iterator[None]:
    """Report ``what`` while the ``with`` body runs: elapsed time, and the time left while
    under ``expected`` [s] (a typical duration, not a promise); the lines after the first name
    the step by ``label`` (default: ``what``)."""
    if not enabled:
        yield
        return
    stream = stream or sys.stderr
    tty = _is_tty(stream)
    t0 = time.monotonic()
    hint = f" (usually about {expected:.0f} s)" if expected else ""
    done = threading.Event()

    def line(el: float) -> str:
        left = f", about {expected - el:.0f} s left" if expected and el < expected else ""
        return f"umlip: {label or what}: {el:.0f} s{left}"

    def beat() -> None:
        while not done.wait(1.0 if tty else every):
            el = time.monotonic() - t0
            _write(stream, _CLEAR + line(el) if tty else line(el) + "\n")

    _write(stream, f"{_CLEAR if tty else ''}umlip: {what}{hint} ...{'' if tty else chr(10)}")
    ticker = threading.Thread(target=beat, daemon=True)
    ticker.start()
    ok = False
    try:
        yield
        ok = True
    finally:
        done.set()
        ticker.join()
        el = time.monotonic() - t0
        if tty:
            _write(stream, _CLEAR)
        elif ok:
            _write(stream, f"umlip: {label or what}: done in {el:.1f} s\n")


class Progress:
    """Counted progress: ``total`` parts (or None), one line per update at most every
    ``min_interval`` seconds (0.2 s on a terminal, rewritten in place)."""

    def __init__(self, desc: str, total: Optional[int] = None, enabled: bool = True,
                 stream: Optional[TextIO] = None, min_interval: float = 5.0):
        self.desc, self.total, self.enabled = desc, total, enabled
        self.stream = stream or sys.stderr
        self.tty = _is_tty(self.stream)
        self.min_interval = 0.2 if self.tty else min_interval
        self.n, self.t0, self._last, self._shown = 0, time.time(), 0.0, -1

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
        self._last, self._shown = now, self.n
        _write(self.stream, _CLEAR + self._line(info) if self.tty else self._line(info) + "\n")

    def message(self, text: str) -> None:
        if self.enabled:
            _write(self.stream, (_CLEAR if self.tty else "") + f"[{self.desc}] {text}\n")

    def close(self, info: str = "done") -> None:
        if self.enabled:
            if self.tty or self._shown != self.n:      # no repeat of the last line in a log
                self.update(0, info, force=True)
            if self.tty:
                _write(self.stream, "\n")
