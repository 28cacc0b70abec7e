"""The fixture runners (statetest, blocktest) over a Ray cluster: the same selection, the same
per-case results and so the same report as a local run, for any number of workers.

Planning, on the driver: every file is read and its selected cases enumerated by the runner's own
`iter_cases`, so bad input stops the run before anything is sent, with a local run's error. A task is
about a share of the run (its bytes / (workers x TASKS_PER_WORKER)): a bigger file is cut into ranges
of its cases, so that one big file does not leave the other workers idle at the end; smaller files
are grouped. Tasks go out largest first.

What travels to a worker: by default the files' bytes (any machine can run any task): with the task
when the file is not cut (Ray sends small arguments inline, big ones through its object store), or put
once in the object store for all the tasks of a file cut into ranges and dropped when they are done;
with `paths` only the path, for clusters whose workers see the same files at the same paths (shared
storage).

Results stream back in order of completion (the progress bar counts cases) and are put back in file
and case order at the end, which is the order of a local run.
"""

from __future__ import annotations

import importlib
import math
from collections import Counter, deque
from itertools import islice
from pathlib import Path
from typing import Any

import structlog

from .errors import UserError
from .fixtures import CaseResult, FixtureBytes
from .progress import Progress
from .ray_pool import DEFAULT_ATTEMPTS, ActorPool, PoolWorker, Task, cluster_cpus, connect

log = structlog.get_logger("ray")

TASKS_PER_WORKER = 16  # enough to balance and to move the progress bar; each costs the driver ~1 ms


class FixtureWorker(PoolWorker):
    """A Ray actor running ranges of cases of fixture files with one backend, loaded once and kept
    (with its compile caches) for the whole run."""

    def __init__(self, runner: str, backend: str, filters: tuple) -> None:
        import faulthandler

        from evm.backends import get_backend

        faulthandler.enable()  # a native crash leaves its stack in the worker's log (worker-*.err)
        self.mod = importlib.import_module(runner)
        self.backend = backend
        self.filters = filters
        get_backend(backend)

    def run(self, *segments: Any) -> list[list[CaseResult]]:
        """The results of each segment, given flat as: file name, its bytes (or None: read the path),
        first case, end, ... (flat, because Ray resolves object references only in top-level arguments)."""
        out = []
        for k in range(0, len(segments), 4):
            name, data, start, stop = segments[k : k + 4]
            source = Path(name) if data is None else FixtureBytes(name, data)
            cases = islice(self.mod.iter_cases([source], *self.filters), start, stop)
            out.append([self.mod.run_one(*case, backend=self.backend) for case in cases])
        return out


def plan(mod: Any, files: list[Path], filters: tuple, workers: int) -> tuple[list[Task], int]:
    """(tasks, number of cases). A task's key is its segments: (file number, first case, end), ...

    Target size of a task: the run's bytes / (workers x TASKS_PER_WORKER). A bigger file is cut into
    ranges of its cases; smaller files that follow one another are grouped up to that size, so the
    number of tasks follows the number of workers rather than the number of files (each task costs
    the driver about a millisecond)."""
    counted = []
    for f in files:
        counted.append((sum(1 for _ in mod.iter_cases([f], *filters)), f.stat().st_size))
    total_bytes = sum(size for n, size in counted if n)
    share = max(1, total_bytes // (workers * TASKS_PER_WORKER))
    tasks: list[tuple[float, Task]] = []
    group: list[tuple[int, int, int]] = []
    group_cost = 0.0

    def close_group() -> None:
        nonlocal group, group_cost
        if group:
            tasks.append((group_cost, Task(tuple(group), (), sum(stop - start for _, start, stop in group))))
        group, group_cost = [], 0.0

    for file_no, (n, size) in enumerate(counted):
        if not n:
            continue
        if size >= share:
            pieces = min(n, math.ceil(size / share))
            for k in range(pieces):
                start, stop = n * k // pieces, n * (k + 1) // pieces
                tasks.append((size * (stop - start) / n, Task(((file_no, start, stop),), (), stop - start)))
            continue
        if group_cost + size > share:
            close_group()
        group.append((file_no, 0, n))
        group_cost += size
    close_group()
    tasks.sort(key=lambda ct: (-ct[0], ct[1].key))
    return [t for _, t in tasks], sum(n for n, _ in counted)


class FixtureSource:
    """Hands out the planned tasks, ships file contents, gathers results; splits a task that keeps
    killing its worker into single cases, and reports a single case that does as failed."""

    def __init__(
        self, ray: Any, mod: Any, files: list[Path], filters: tuple, tasks: list[Task], ship: bool, progress: Progress
    ) -> None:
        self.ray, self.mod, self.files, self.filters = ray, mod, files, filters
        self.pending = deque(tasks)
        self.ship = ship
        self.progress = progress
        self.open = Counter(seg[0] for t in tasks for seg in t.key)  # segments not done yet, per file
        self.refs: dict[int, Any] = {}  # file number -> its bytes in the object store
        self.results: dict[tuple, list[CaseResult]] = {}  # segment -> its results
        self.crashed_cases = 0

    def _data(self, file_no: int) -> Any:
        """What a worker gets of a file: None (it reads the path), the bytes (a file of one segment:
        they travel with the task), or their object-store reference (put once for all its segments)."""
        if not self.ship:
            return None
        data = self.refs.get(file_no)
        if data is None:
            data = self.files[file_no].read_bytes()
            if self.open[file_no] > 1:
                data = self.refs[file_no] = self.ray.put(data)
        return data

    def next_task(self) -> Task | None:
        if not self.pending:
            return None
        task = self.pending.popleft()
        task.args = tuple(x for f, start, stop in task.key for x in (str(self.files[f]), self._data(f), start, stop))
        return task

    def _record(self, segment: tuple[int, int, int], results: list[CaseResult]) -> None:
        file_no, start, stop = segment
        if len(results) != stop - start:
            raise UserError(
                f"{self.files[file_no]}: cases {start}..{stop - 1} came back as {len(results)} "
                "results (did the file change during the run?)"
            )
        self.results[segment] = results
        self.progress.advance(len(results), failed=sum(r.status == "failed" for r in results))
        self.open[file_no] -= 1
        if not self.open[file_no]:
            self.refs.pop(file_no, None)  # the last reference: Ray frees the object

    def done(self, task: Task, result: list[list[CaseResult]]) -> None:
        for segment, results in zip(task.key, result, strict=True):
            self._record(segment, results)

    def crashed(self, task: Task, error: str) -> None:
        if task.size > 1:  # find the case: each one alone, with its own attempts
            singles = [Task(((f, i, i + 1),), (), 1) for f, start, stop in task.key for i in range(start, stop)]
            self.pending.extendleft(reversed(singles))
            for f, start, stop in task.key:
                self.open[f] += stop - start - 1
            return
        (segment,) = task.key
        file_no, start, _ = segment
        case = next(islice(self.mod.iter_cases([self.files[file_no]], *self.filters), start, None))
        self.crashed_cases += 1
        self._record(segment, [self.mod.crashed(*case, reason=f"crashed: {error}")])

    def ordered(self) -> list[CaseResult]:
        return [r for segment in sorted(self.results) for r in self.results[segment]]


def run_files_on_ray(
    runner: str,
    files: list[Path],
    filters: tuple,
    backend: str,
    label: str,
    unit: str,
    address: str,
    workers: int | None = None,
    ship: bool = True,
    attempts: int = DEFAULT_ATTEMPTS,
) -> list[CaseResult]:
    """What `client.fixtures.run_files` returns, computed on the Ray cluster at `address` by
    `workers` actors (default: one per CPU of the cluster)."""
    mod = importlib.import_module(runner)
    ray = connect(address)
    try:
        workers = workers or cluster_cpus(ray)
        tasks, total = plan(mod, files, filters, max(1, workers))
        if not tasks:  # nothing selected: no worker to start
            return []
        progress = Progress(total, label, unit=unit)
        source = FixtureSource(ray, mod, files, filters, tasks, ship, progress)
        try:
            stats = ActorPool(ray, FixtureWorker, (runner, backend, filters), workers, attempts).run(source)
        finally:
            progress.close()
        log.info(
            "ray run",
            address=address,
            workers=stats.workers,
            nodes=stats.nodes,
            tasks=stats.tasks,
            cases=total,
            resubmitted=stats.resubmitted,
            workers_lost=stats.workers_lost,
            crashed_cases=source.crashed_cases,
            seconds=round(stats.seconds, 2),
        )
        return source.ordered()
    finally:
        ray.shutdown()
