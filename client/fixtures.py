"""What the fixture runners (statetest, blocktest) share: finding and loading fixture files, the
per-case result, running cases in one process or across worker processes, and the report."""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from common.heap import freeze_long_lived

from .errors import UserError
from .progress import Progress


@dataclass(slots=True)
class CaseResult:
    test: str
    file: str
    fork: str  # fork or network name
    status: str  # passed | failed | skipped
    reason: str = ""
    seconds: float = 0.0
    index: int = 0
    stats: dict = field(default_factory=dict)
    cpu_seconds: float = 0.0  # this process's CPU time for the case: wall time follows a shared machine's load


def hex_int(value: str | int) -> int:
    """A fixture number: 0x-prefixed hex (or already an int)."""
    return value if isinstance(value, int) else int(value, 16)


def hex_bytes(value: str) -> bytes:
    """A fixture byte string: hex with or without 0x."""
    return bytes.fromhex(value[2:] if value[:2] in ("0x", "0X") else value)


def fixture_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.json") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise UserError(f"no such file or directory: {raw}")
    return files


class FixtureBytes:
    """A fixture file's name (as the command line gave it) and content: what a worker gets in place
    of a path it may not be able to open (another machine of a Ray cluster)."""

    __slots__ = ("name", "data")

    def __init__(self, name: str, data: bytes) -> None:
        self.name, self.data = name, data

    def __str__(self) -> str:
        return self.name

    def read_bytes(self) -> bytes:
        return self.data


def load_fixture(path: Path | FixtureBytes) -> dict:
    try:
        data = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: invalid JSON: {exc}") from None
    except RecursionError:
        raise UserError(f"{path}: invalid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. a number of more than 4300 digits
        raise UserError(f"{path}: invalid JSON: {str(exc).split(':')[0]}") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: not a fixture file (top level is not an object)")
    return data


def select_fixtures(files: list[Path], substring: str | None, keys: tuple[str, ...], kind: str):
    """(file, test name, fixture) of every test whose name contains `substring`; a test without
    all of `keys` is bad input ("not a `kind`")."""
    for path in files:
        for name, fixture in load_fixture(path).items():
            if substring and substring not in name:
                continue
            if not isinstance(fixture, dict) or not all(k in fixture for k in keys):
                raise UserError(f"{path}: {name!r} is not a {kind} (no {'/'.join(keys)})")
            yield path, name, fixture


def _run_file(runner: str, path: str, filters: tuple, backend: str) -> list[CaseResult]:
    mod = importlib.import_module(runner)
    return [mod.run_one(*case, backend=backend) for case in mod.iter_cases([Path(path)], *filters)]


def run_files(
    runner: str, files: list[Path], filters: tuple, backend: str, jobs: int, label: str, unit: str = "case"
) -> list[CaseResult]:
    """Run every case of `files` through module `runner` (`iter_cases(files, *filters)` and
    `run_one(*case, backend=...)`); with jobs > 1, one file per task across worker processes.
    Results come in file order either way, so reports are identical for any `jobs`."""
    mod = importlib.import_module(runner)
    freeze_long_lived()  # set-up done: full collections skip the modules (and, with --jobs, before the fork)
    results: list[CaseResult] = []
    if jobs <= 1 or len(files) <= 1:
        cases = list(mod.iter_cases(files, *filters))
        progress = Progress(len(cases), label, unit=unit)
        for case in cases:
            r = mod.run_one(*case, backend=backend)
            results.append(r)
            progress.advance(failed=r.status == "failed")
        progress.close()
        return results
    # A bad file raises UserError in its worker; it reaches the caller like in one process.
    progress = Progress(len(files), label, unit="file")
    n = len(files)
    with ProcessPoolExecutor(max_workers=min(jobs, n)) as pool:
        for chunk in pool.map(_run_file, [runner] * n, [str(f) for f in files], [filters] * n, [backend] * n):
            results.extend(chunk)
            progress.advance(failed=sum(r.status == "failed" for r in chunk))
    progress.close()
    return results


# What a report records of the run rather than of the fixtures: each case's wall and CPU time, and which
# tier ran its frames (tiered's split follows the compile cache and timing). Two runs of the same selection
# (local and Ray, --jobs 1 and N) give equal reports once these are left out.
RUN_TIMINGS = ("seconds", "cpu_seconds")
FRAME_SPLIT = ("frames_compiled", "frames_interpreted")


def comparable_report(doc: dict) -> dict:
    """A JSON report (`report`) without what depends on the run (RUN_TIMINGS, FRAME_SPLIT); changed in place."""
    rows = doc.get("cases") or doc.get("tests") or []
    for part in [doc.get("summary", {})] + [row.get("stats", {}) for row in rows]:
        for key in FRAME_SPLIT:
            part.pop(key, None)
    for row in rows:
        for key in RUN_TIMINGS:
            row.pop(key, None)
    return doc


def report(results: list[CaseResult], report_path: str | None, unit: str = "case") -> int:
    """Failures named, counts per fork/network, optional JSON report, then the closing line
    `N passed, M failed, K skipped`; returns the exit status (1 when anything failed)."""
    per_fork: dict[str, Counter] = defaultdict(Counter)
    for r in results:
        per_fork[r.fork][r.status] += 1
        if r.status == "failed":
            where = f"{r.fork} #{r.index}" if unit == "case" else r.fork
            print(f"FAIL {r.test} [{where}]: {r.reason}")
    for fork in sorted(per_fork):
        c = per_fork[fork]
        print(f"{fork}: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped")
    # why each skipped group was skipped (a fork or network this client does not run), never silently
    skipped = Counter((r.fork, r.reason) for r in results if r.status == "skipped")
    for (fork, reason), n in sorted(skipped.items()):
        print(f"SKIP {fork} ({n} {unit}{'s' if n != 1 else ''}): {reason}")
    totals = Counter(r.status for r in results)
    frames: Counter[str] = Counter()
    for r in results:
        frames.update(r.stats)
    if frames:
        print(f"frames: {frames['frames_compiled']} compiled, {frames['frames_interpreted']} interpreted")
    if report_path:
        fork_key = "fork" if unit == "case" else "network"
        doc = {
            "summary": {
                "passed": totals["passed"],
                "failed": totals["failed"],
                "skipped": totals["skipped"],
                f"per_{fork_key}": {f: dict(c) for f, c in per_fork.items()},
                **dict(frames),
            },
            f"{unit}s": [
                {
                    "test": r.test,
                    "file": r.file,
                    fork_key: r.fork,
                    **({"index": r.index} if unit == "case" else {}),
                    "status": r.status,
                    "reason": r.reason,
                    "seconds": round(r.seconds, 6),
                    "cpu_seconds": round(r.cpu_seconds, 6),
                    **({"stats": r.stats} if r.stats else {}),
                }
                for r in results
            ],
        }
        Path(report_path).parent.mkdir(parents=True, exist_ok=True)
        with open(report_path, "w") as fh:
            json.dump(doc, fh, indent=1)
    print(f"{totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
    sys.stdout.flush()
    return 1 if totals["failed"] else 0


def fixture_config(fixture: dict):
    """The chain config of a blockchain(-engine) test's `network` and `config` (chain id, blob schedule);
    client.forks.UnsupportedFork for a network this client does not run (one before the Merge)."""
    from .forks import network_config

    config_json = fixture.get("config") or {}
    return network_config(
        fixture.get("network", "?"), hex_int(config_json.get("chainid", "0x1")), config_json.get("blobSchedule")
    )


def run_timed(backend: str, run: Callable[[], tuple[bool, str, dict]]) -> tuple[bool, str, float, float, dict]:
    """Run one case: (ok, reason, seconds, CPU seconds, its stats with the frames the backend ran
    compiled and interpreted). A bug or a malformed case is a named failure, never a crash of the run."""
    from evm.backends import frame_counts

    start, cpu = time.perf_counter(), time.process_time()
    before = frame_counts(backend)
    stats: dict = {}
    try:
        ok, reason, stats = run()
    except Exception as exc:
        ok, reason = False, f"internal error: {type(exc).__name__}: {exc}"
    after = frame_counts(backend)
    stats = {**stats, "frames_compiled": after[0] - before[0], "frames_interpreted": after[1] - before[1]}
    return ok, reason, time.perf_counter() - start, time.process_time() - cpu, stats


def run_case(path: Path, name: str, fixture: dict, backend: str, run_test) -> CaseResult:
    """One blockchain(-engine) test: skipped, with the reason, when its network is not one this client runs;
    else `run_test(chain config)` -> (passed, reason, stats), timed, with the frames the backend compiled and
    interpreted; an exception is a named failure, never a crash of the run."""

    from .forks import UnsupportedFork

    network = fixture.get("network", "?")
    try:
        config = fixture_config(fixture)
    except UnsupportedFork as exc:
        return CaseResult(name, str(path), network, "skipped", str(exc))
    except UserError as exc:
        return CaseResult(name, str(path), network, "failed", f"bad fixture config: {exc}")
    ok, reason, seconds, cpu, stats = run_timed(backend, lambda: run_test(config))
    return CaseResult(
        name, str(path), network, "passed" if ok else "failed", reason, seconds, stats=stats, cpu_seconds=cpu
    )
