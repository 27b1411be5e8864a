"""Registry of the benchmark tasks (name -> Task class), in the order they run."""
from __future__ import annotations

from typing import Dict, Type

from umlip.io import PathLike, read_json
from umlip.validation.task import Task, TaskResult
from umlip.validation.tasks.adatom import AdatomTask
from umlip.validation.tasks.dissociation import DissociationTask
from umlip.validation.tasks.h2_cu111 import H2Cu111Task
from umlip.validation.tasks.hot_md import HotMDTask
from umlip.validation.tasks.phonons import PhononTask
from umlip.validation.tasks.reactive_md import ReactiveMDTask

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
