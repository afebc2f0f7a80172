"""Worker processes for --jobs that survive a worker killed by the system.

A worker that dies (the OOM killer) breaks the whole pool: every task still in it fails.
Such a task is run again alone, in a one-worker pool, so only a task that kills its
process a second time is lost, and the caller can name its file."""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any


class Killed(Exception):
    """The task stopped its worker process twice: once in the pool, once alone."""


class Task:
    def __init__(self, fn: Callable, args: tuple, future: Future | None):
        self.fn, self.args, self.future = fn, args, future


class Runner:
    """submit() / result() over a pool of `jobs` workers, made on the first submit (so a
    scan that needs no worker forks none)."""

    def __init__(self, jobs: int):
        self.jobs = jobs
        self._pool: ProcessPoolExecutor | None = None
        self._solo: ProcessPoolExecutor | None = None

    def submit(self, fn: Callable, *args: Any) -> Task:
        try:
            self._pool = self._pool or ProcessPoolExecutor(max_workers=self.jobs)
            return Task(fn, args, self._pool.submit(fn, *args))
        except BrokenProcessPool:  # the pool broke earlier: this task runs alone when its result is asked for
            return Task(fn, args, None)

    def result(self, task: Task) -> Any:
        """The task's value; an exception it raised is raised here; Killed if it stops its process again."""
        if task.future is not None:
            try:
                return task.future.result()
            except BrokenProcessPool:
                pass
        # one at a time: only one task is ever in flight, so a death names its task
        self._solo = self._solo or ProcessPoolExecutor(max_workers=1)
        try:
            return self._solo.submit(task.fn, *task.args).result()
        except BrokenProcessPool:
            self._solo.shutdown()
            self._solo = None
            raise Killed from None

    def alone(self, fn: Callable, *args: Any) -> Any:
        """fn(*args) in the one-worker pool, by itself; Killed if it stops its process."""
        return self.result(Task(fn, args, None))

    def close(self) -> None:
        for pool in (self._pool, self._solo):
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        self._pool = self._solo = None
