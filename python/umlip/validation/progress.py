"""The suite's progress printer: :class:`umlip.progress.Progress` (one helper for the package).

    p = Progress("reactive_md", total=80)
    p.update(info="E=0.5 eV traj 3")      # one step done
    p.close()
"""
from umlip.progress import Progress  # noqa: F401
