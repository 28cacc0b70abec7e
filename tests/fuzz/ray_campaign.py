"""A differential-fuzzing campaign over a Ray cluster (`python -m tests.fuzz.harness --ray ADDRESS`,
`make fuzz RAY=ADDRESS`).

Each of the N workers has a seed stream of its own: stream k is the seed "SEED.k", whose case i is
generated from random.Random("SEED.k:i") exactly as in a local campaign, so any finding is replayed
on one machine with `--seed SEED.k --start i --cases 1`. A stream runs in chunks of --ray.chunk cases
(a Ray actor per worker, backends loaded once); each chunk returns a Campaign whose counts and
findings are added to the driver's, which saves the findings under --save-dir with their reproducer.
A chunk whose worker dies is run again (the same cases: nothing lost, nothing counted twice); a chunk
that kills its worker every time is split into single cases, and a case that still does is recorded
as a `worker-crash` finding. With --seconds, no chunk starts after the budget and a running chunk
stops at it; with --cases, the cases are shared out between the streams.

Workers import this package from the repository: every node of the cluster needs the same checkout at
the same path (docs/cluster.md).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from client.progress import Progress
from client.ray_pool import ActorPool, PoolWorker, Task, cluster_cpus, connect

from .harness import Campaign, case_for, prepare_backends


class FuzzWorker(PoolWorker):
    def __init__(self, backends: list[str], use_spec: bool, case_timeout: float) -> None:
        import faulthandler

        faulthandler.enable()  # a native crash leaves its stack in the worker's log
        loaded, skipped = prepare_backends(backends)
        if skipped:
            raise RuntimeError(f"backends do not load on this node: {skipped}")
        self.backends, self.use_spec, self.case_timeout = loaded, use_spec, case_timeout

    def run(self, seed: str, start: int, count: int, seconds: float | None) -> Campaign:
        """Cases start..start+count-1 of `seed`, stopping early after `seconds`."""
        campaign = Campaign(self.backends, self.use_spec, None, self.case_timeout)
        deadline = None if seconds is None else time.monotonic() + seconds
        for index in range(start, start + count):
            if deadline is not None and time.monotonic() >= deadline:
                break
            campaign.run_case(seed, index)
        return campaign


@dataclass
class Stream:
    seed: str
    next: int
    left: float  # cases still to run (inf with a time budget only)
    busy: bool = False
    singles: int = 0  # single-case tasks of a crashing chunk still out
    resume: int = 0  # where the stream goes on once they are back


class StreamSource:
    def __init__(
        self, campaign: Campaign, streams: list[Stream], chunk: int, deadline: float | None, progress: Progress
    ) -> None:
        self.campaign = campaign
        self.streams = streams
        self.chunk = max(1, chunk)
        self.deadline = deadline
        self.progress = progress
        self.pending: deque[Task] = deque()  # single cases of a chunk that keeps killing its worker

    def _remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def next_task(self) -> Task | None:
        if self.pending:
            return self.pending.popleft()
        remaining = self._remaining()
        if remaining is not None and remaining <= 0:
            return None
        for k, s in enumerate(self.streams):
            if not s.busy and s.left > 0:
                s.busy = True
                count = int(min(self.chunk, s.left))
                return Task((k, s.next, count), (s.seed, s.next, count, remaining), count)
        return None

    def done(self, task: Task, result: Campaign) -> None:
        k, start, count = task.key
        s = self.streams[k]
        ran = result.stats["cases"]
        self.campaign.absorb(result)
        self.progress.advance(ran, failed=len(result.divergences) + len(result.crashes))
        if s.singles:  # one case of a split chunk
            self._single_back(s)
            return
        s.busy = False
        s.next = start + ran
        s.left = 0 if ran < count else s.left - ran  # a chunk cut short by the time budget ends the stream

    def _single_back(self, s: Stream) -> None:
        s.singles -= 1
        if not s.singles:
            s.busy = False
            s.left -= s.resume - s.next
            s.next = s.resume

    def crashed(self, task: Task, error: str) -> None:
        k, start, count = task.key
        s = self.streams[k]
        if count > 1:
            singles = [Task((k, i, 1), (s.seed, i, 1, self._remaining()), 1) for i in range(start, start + count)]
            self.pending.extend(singles)
            s.singles, s.resume = len(singles), start + count
            return
        c = self.campaign
        c.stats["cases"] += 1
        c.stats["crashes"] += 1
        c.keep(
            {
                "kind": "worker-crash",
                "seed": s.seed,
                "index": start,
                "backend": "all",
                "reproduce": c.reproducer(s.seed, start),
                "error": error,
                "case": case_for(s.seed, start),
            }
        )
        self.progress.advance(1, failed=1)
        if s.singles:
            self._single_back(s)
        else:  # a chunk of one case
            s.busy = False
            s.next, s.left = start + 1, s.left - 1


def run_on_ray(campaign: Campaign, args) -> dict:
    """Run the campaign of `args` on the cluster at args.ray into `campaign`; what the summary adds."""
    ray = connect(args.ray)
    try:
        workers = args.ray_workers or cluster_cpus(ray)
        n = max(1, workers)
        if args.cases is not None:
            quotas = [args.cases // n + (k < args.cases % n) for k in range(n)]
        else:
            quotas = [float("inf")] * n
        streams = [Stream(f"{args.seed}.{k}", args.start, quotas[k]) for k in range(n)]
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        progress = Progress(args.cases, "fuzz", unit="case")
        source = StreamSource(campaign, streams, args.ray_chunk, deadline, progress)
        try:
            stats = ActorPool(
                ray,
                FuzzWorker,
                (campaign.backends, campaign.use_spec, campaign.case_timeout),
                workers,
                attempts=args.ray_attempts,
                depth=1,
            ).run(source)
        finally:
            progress.close()
        # findings came in order of completion: list them by stream and case
        campaign.divergences.sort(key=lambda r: (str(r["seed"]), r["index"]))
        campaign.crashes.sort(key=lambda r: (str(r["seed"]), r["index"]))
        return {
            "streams": {s.seed: s.next - args.start for s in streams},
            "ray": {
                "address": args.ray,
                "workers": stats.workers,
                "nodes": stats.nodes,
                "tasks": stats.tasks,
                "resubmitted": stats.resubmitted,
                "workers_lost": stats.workers_lost,
                "worker_crashes": stats.crashed,
            },
        }
    finally:
        ray.shutdown()
