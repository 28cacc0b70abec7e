"""Ray under the fixture runners and the fuzz harness: connecting to a cluster, and a pool of actors
(one per worker CPU, each keeping its backend and compile cache warm) that runs tasks and survives
workers that die.

Faults. Ray tells the driver that an actor died (RayActorError on its tasks); the pool then starts a
new actor in its place (Ray puts it on any node with a free CPU) and sends the lost tasks again, to
whichever worker is free first. It does this itself rather than through Ray's task retries because it
must tell apart the task that was running when the worker died from those only queued behind it:
tasks run in submission order on an actor, so the oldest unfinished one was running; it is charged
one attempt, the others go back to the queue uncharged. A task charged `attempts` times is handed to
its source's `crashed()`, which splits it (into single cases) or reports it as a failed case with the
crash; so a case that kills its worker every time costs at most 2 x `attempts` worker deaths, never
an endless loop. A task's result is taken once, from the one reply that arrived: a run loses nothing
and counts nothing twice.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from .errors import UserError

log = structlog.get_logger("ray")

DEFAULT_ATTEMPTS = 3
STARTUP_WAIT = 60.0  # seconds
# When an actor dies, how long to let the replies of its tasks settle: once Ray knows the actor is dead, every
# pending task of it fails at once, but the reply of a task that finished just before the death may still be
# on its way. Judged without waiting, that task looked lost and was charged as the running one, and the task
# that really killed the worker was requeued uncharged (a flaky test saw 5 worker deaths instead of 4).
SETTLE_WAIT = 10.0  # seconds


def connect(address: str) -> Any:
    """ray.init() on the cluster at `address` (host:port of the head node, or `auto` for the cluster
    running on this machine / $RAY_ADDRESS); the ray module. A cluster that does not answer is one
    clear error, not Ray's endless reconnecting."""
    try:
        import ray
        from ray._private.services import canonicalize_bootstrap_address
    except ImportError as exc:  # pragma: no cover - ray is a declared dependency
        raise UserError(f"--ray needs the ray package ({exc}); run `make install`") from None
    if address.startswith("ray://"):
        raise UserError(
            "Ray Client addresses (ray://) are not supported: run on a node of the cluster "
            "with --ray HEAD_HOST:PORT or --ray auto"
        )
    try:
        resolved = canonicalize_bootstrap_address(address)
    except (ConnectionError, ValueError) as exc:
        raise UserError(f"no Ray cluster at {address!r}: {str(exc).splitlines()[0]}") from None
    if resolved is None:
        raise UserError(f"no Ray cluster at {address!r}")
    host, _, port = resolved.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except (OSError, ValueError) as exc:
        raise UserError(f"no Ray cluster answers at {resolved}: {exc}") from None
    _route_ray_messages()
    try:
        ray.init(address=resolved, logging_level=logging.ERROR, log_to_driver=False)
    except Exception as exc:  # e.g. a version mismatch between this ray and the cluster's
        raise UserError(f"cannot join the Ray cluster at {resolved}: {str(exc).splitlines()[0]}") from None
    return ray


def _route_ray_messages() -> None:
    """Ray prints its cluster's error messages (e.g. "A worker died ...") on the driver's stdout, which
    belongs to the report: send them to the log (stderr) instead."""
    import ray._private.worker as ray_worker

    original = ray_worker.print_to_stdstream
    if getattr(original, "_evm_mlir", False):
        return

    def print_to_stdstream(data: dict, ignore_prefix: bool) -> None:
        if data.get("pid") != "raylet":
            return original(data, ignore_prefix)
        for line in data.get("lines", ()):
            log.warning("raylet", message=line if len(line) < 400 else line[:400] + "...")

    print_to_stdstream._evm_mlir = True  # type: ignore[attr-defined]
    ray_worker.print_to_stdstream = print_to_stdstream


def cluster_cpus(ray: Any) -> int:
    return int(ray.cluster_resources().get("CPU", 0))


@dataclass(eq=False)
class Task:
    key: Any  # what the source knows the task by
    args: tuple  # the arguments of the actor's run()
    size: int = 1  # units of work (cases): progress, and whether it can be split
    attempts: int = 0  # times it was running when its worker died


class Source(Protocol):
    """Where a pool's tasks come from and where their results go (all calls on the driver)."""

    def next_task(self) -> Task | None:
        """The next task to run, or None when there is none now (more may follow a done())."""

    def done(self, task: Task, result: Any) -> None: ...

    def crashed(self, task: Task, error: str) -> None:
        """`task` was running each of the `attempts` times its worker died: split it or report it."""


class PoolWorker:
    """Base of the actor classes: Ray calls `ready` once an actor is up."""

    def ready(self) -> dict:
        import ray

        return {
            "pid": os.getpid(),
            "node": ray.get_runtime_context().get_node_id(),
            "ip": ray.util.get_node_ip_address(),
        }


@dataclass
class PoolStats:
    workers: int = 0  # actors that came up
    nodes: int = 0  # distinct nodes they ran on
    tasks: int = 0  # task results received
    resubmitted: int = 0  # tasks sent again after their worker died
    workers_lost: int = 0  # actor deaths (a new actor takes each one's place)
    crashed: int = 0  # tasks that were running each time their worker died (`attempts` times)
    seconds: float = 0.0
    node_ids: set = field(default_factory=set, repr=False)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def death_detail(exc: BaseException) -> str:
    """Where and how a worker died, from Ray's error (pid, node address, the exit Ray saw)."""
    fields, why = {}, ""
    for line in str(exc).splitlines()[1:]:
        if line.startswith("\t") and ":" in line:
            key, _, value = line.strip().partition(":")
            fields[key] = value.strip()
        elif line.strip() and not why:
            why = line.strip().split(". Some common causes")[0]
    where = f"pid {fields['pid']} on {fields.get('ip', '?')}" if "pid" in fields else ""
    return "; ".join(x for x in (where, why) if x) or _first_line(exc)


class ActorPool:
    """`workers` actors of class `cls` (a PoolWorker with a `run(*task.args)` method), each with
    `depth` tasks in flight so it never waits for the driver between tasks."""

    def __init__(
        self, ray: Any, cls: type, args: tuple, workers: int, attempts: int = DEFAULT_ATTEMPTS, depth: int = 2
    ) -> None:
        if workers < 1:
            raise UserError("the Ray cluster has no CPU for a worker (ray status shows its resources)")
        self.ray = ray
        self.remote = ray.remote(cls).options(num_cpus=1, max_restarts=0, max_task_retries=0)
        self.args = args
        self.attempts = max(1, attempts)
        self.depth = depth
        self.stats = PoolStats()
        self.actors: list[Any] = [None] * workers
        self.starting: dict[Any, int] = {}  # ready() reply -> actor slot
        self.alive: list[int] = []
        self.queues: list[deque] = [deque() for _ in range(workers)]  # refs per actor, in submission order
        self.inflight: dict[Any, tuple[Task, int]] = {}
        self.retry: deque[Task] = deque()
        self.start_errors: list[str] = []
        self.came_up: set[int] = set()

    def _spawn(self, i: int) -> None:
        self.actors[i] = self.remote.remote(*self.args)
        self.starting[self.actors[i].ready.remote()] = i

    def run(self, source: Source) -> PoolStats:
        ray = self.ray
        start = time.monotonic()
        for i in range(len(self.actors)):
            self._spawn(i)
        try:
            # Start with every worker that comes up within STARTUP_WAIT (others join when they do), so a
            # short run is not over before the last actor has imported the backend.
            up, _ = ray.wait(list(self.starting), num_returns=len(self.starting), timeout=STARTUP_WAIT)
            for ref in up:
                self._started(ref, self.starting.pop(ref))
            if not self.alive and self.starting:
                log.warning("no Ray worker up yet: waiting for a free CPU in the cluster", waited=STARTUP_WAIT)
            while True:
                exhausted = self._hand_out(source)
                if exhausted and not self.inflight:
                    break
                if not self.starting and not self.alive:
                    raise UserError(f"no Ray worker could start: {self.start_errors[-1] if self.start_errors else '?'}")
                waiting = list(self.inflight) + list(self.starting)
                ready, _ = ray.wait(waiting, num_returns=1, timeout=None)
                more, _ = ray.wait(waiting, num_returns=len(waiting), timeout=0)
                for ref in dict.fromkeys(ready + more):
                    if ref in self.starting:
                        self._started(ref, self.starting.pop(ref))
                    elif ref in self.inflight:  # not yet taken by a _worker_lost() of this round
                        self._finished(ref, source)
        finally:
            for actor in self.actors:
                ray.kill(actor, no_restart=True)
        self.stats.workers = len(self.came_up)
        self.stats.nodes = len(self.stats.node_ids)
        self.stats.seconds = time.monotonic() - start
        return self.stats

    def _hand_out(self, source: Source) -> bool:
        """Fill every live actor up to `depth` tasks, one round at a time so that work spreads over all
        actors first; True when there was nothing more to hand out."""
        for level in range(self.depth):
            for i in self.alive:
                if len(self.queues[i]) > level:
                    continue
                task = self.retry.popleft() if self.retry else source.next_task()
                if task is None:
                    return True
                ref = self.actors[i].run.remote(*task.args)
                self.inflight[ref] = (task, i)
                self.queues[i].append(ref)
        return False

    def _started(self, ref, i: int) -> None:
        try:
            info = self.ray.get(ref)
        except Exception as exc:  # e.g. the backend does not load on that node
            self.start_errors.append(_first_line(exc))
            log.error("ray worker failed to start", worker=i, error=_first_line(exc))
            return
        self.alive.append(i)
        self.came_up.add(i)
        self.stats.node_ids.add(info["node"])
        log.debug("ray worker ready", worker=i, pid=info["pid"], node=info["node"][:12], ip=info["ip"])

    def _finished(self, ref, source: Source) -> None:
        from ray.exceptions import RayActorError, RayTaskError

        task, i = self.inflight[ref]
        try:
            result = self.ray.get(ref)
        except RayActorError as exc:
            self._worker_lost(i, exc, source)
            return
        except RayTaskError as exc:  # an exception in our code on the worker: stop like a local run would
            cause = exc.cause if isinstance(exc.cause, BaseException) else exc
            if isinstance(cause, UserError):
                raise UserError(str(cause)) from None
            raise UserError(f"a Ray worker failed: {type(cause).__name__}: {_first_line(cause)}") from None
        del self.inflight[ref]
        self.queues[i].remove(ref)
        self.stats.tasks += 1
        log.debug("ray task done", worker=i, task=str(task.key), size=task.size)
        source.done(task, result)

    def _worker_lost(self, i: int, exc: BaseException, source: Source) -> None:
        """Actor i died: take the replies that did arrive, charge the task that was running, requeue
        the rest, and start a new actor in its place."""
        from ray.exceptions import RayActorError

        self.stats.workers_lost += 1
        refs = list(self.queues[i])
        self.queues[i].clear()
        self.alive.remove(i)
        self.ray.kill(self.actors[i], no_restart=True)
        self._spawn(i)
        arrived, _ = self.ray.wait(refs, num_returns=len(refs), timeout=SETTLE_WAIT)
        lost: list[Task] = []
        for ref in refs:
            task, _ = self.inflight.pop(ref)
            if ref in arrived:
                try:
                    result = self.ray.get(ref)
                except RayActorError:
                    pass
                else:  # finished before the worker died
                    self.stats.tasks += 1
                    source.done(task, result)
                    continue
            lost.append(task)
        if not lost:
            return
        running, queued = lost[0], lost[1:]
        running.attempts += 1
        log.warning(
            "ray worker lost",
            worker=i,
            task=str(running.key),
            attempt=running.attempts,
            requeued=len(queued) + (running.attempts < self.attempts),
            error=death_detail(exc),
        )
        self.retry.extendleft(reversed(queued))
        self.stats.resubmitted += len(queued)
        if running.attempts < self.attempts:
            self.retry.appendleft(running)
            self.stats.resubmitted += 1
        else:
            self.stats.crashed += 1
            source.crashed(
                running,
                f"its worker process died each of the {running.attempts} times it ran "
                f"(last: {death_detail(exc)}; its stack is in worker-*-PID.err among that node's "
                "Ray session logs)",
            )
