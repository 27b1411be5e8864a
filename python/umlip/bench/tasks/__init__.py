"""Registry of the benchmark tasks (name -> Task class), in the order they run."""
from __future__ import annotations

from typing import Dict, Type

from umlip.bench.jsonio import PathLike, read_json
from umlip.bench.task import Task, TaskResult
from umlip.bench.tasks.dissociation import DissociationTask
from umlip.bench.tasks.h2_cu111 import H2Cu111Task
from umlip.bench.tasks.adatom import AdatomTask
from umlip.bench.tasks.phonons import PhononTask
from umlip.bench.tasks.reactive_md import ReactiveMDTask
from umlip.bench.tasks.hot_md import HotMDTask

TASKS: Dict[str, Type[Task]] = {t.name: t for t in (
    DissociationTask, H2Cu111Task, AdatomTask, ReactiveMDTask, HotMDTask,
    PhononTask,
)}


def get_task(name: str) -> Type[Task]:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; tasks: {', '.join(TASKS)}") from None


def load_result(path: PathLike) -> TaskResult:
    """A saved task result, as the task's own Result class."""
    d = read_json(path)
    return get_task(d["task"]).Result.from_dict(d)
