"""A real, small Ray cluster on 127.0.0.1 for the tests (and for measuring by hand): a head node and
more nodes, each started with `ray start` (as docs/cluster.md says to do on several machines) in its
own session, with its own temporary directory and free ports, so that it never meets another cluster
on this machine. `stop()` kills exactly the processes of those sessions (Ray's workers lead process
groups of their own, but stay in the session of the `ray start` that made their node).

Ray advertises the machine's address even for --node-ip-address=127.0.0.1 (it replaces loopback so
that other machines could join), and binds its ports on every interface: the cluster is still this
machine's alone, reachable only through the free ports picked here.

    python -m tests.ray_local_cluster --nodes 2     # prints the address; Ctrl-C or SIGTERM tears it down
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = str(Path(sys.executable).parent / "ray")


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class LocalRayCluster:
    def __init__(
        self,
        nodes: int = 2,
        cpus_per_node: int = 1,
        object_store_mb: int = 100,
        head_cpus: int | None = None,
        env: dict | None = None,
    ) -> None:
        self.nodes = nodes
        self.cpus_per_node = cpus_per_node
        self.head_cpus = cpus_per_node if head_cpus is None else head_cpus
        self.object_store = object_store_mb * 1024 * 1024
        self.env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", **(env or {})}
        self.env.pop("RAY_ADDRESS", None)
        # Unix socket paths must stay short: a temp dir directly under /tmp.
        self.temp_dir = tempfile.mkdtemp(prefix="evmray-", dir="/tmp")
        self.sessions: list[int] = []
        self.address = ""

    def _start(self, args: list[str]) -> None:
        proc = subprocess.Popen(
            [RAY, "start", *args],
            env=self.env,
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.sessions.append(proc.pid)  # the session leader's pid is the session id of all it spawns
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"ray start failed:\n{out[-3000:]}")

    def _node_args(self, cpus: int) -> list[str]:
        node_manager, object_manager, agent, agent_grpc, runtime_env, metrics = free_ports(6)
        return [
            "--node-ip-address=127.0.0.1",
            f"--num-cpus={cpus}",
            f"--object-store-memory={self.object_store}",
            f"--node-manager-port={node_manager}",
            f"--object-manager-port={object_manager}",
            f"--dashboard-agent-listen-port={agent}",
            f"--dashboard-agent-grpc-port={agent_grpc}",
            f"--runtime-env-agent-port={runtime_env}",
            f"--metrics-export-port={metrics}",
            "--disable-usage-stats",
        ]

    def start(self) -> LocalRayCluster:
        try:
            port, dashboard = free_ports(2)
            self._start(
                [
                    "--head",
                    f"--port={port}",
                    "--include-dashboard=false",
                    f"--dashboard-port={dashboard}",
                    f"--temp-dir={self.temp_dir}",
                    *self._node_args(self.head_cpus),
                ]
            )
            self.address = f"127.0.0.1:{port}"
            for _ in range(self.nodes - 1):
                self._start([f"--address={self.address}", *self._node_args(self.cpus_per_node)])
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Kill every process of the cluster (SIGKILL: a throwaway cluster has nothing to save, and
        Ray's daemons take seconds to honour SIGTERM)."""
        for _ in range(3):  # a raylet may still be spawning a worker while the first pass runs
            pids = self.pids()
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if not pids:
                break
            time.sleep(0.2)
        self.sessions.clear()
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def pids(self, name: str = "") -> list[int]:
        """Processes of this cluster, those whose command line contains `name` when given (e.g.
        `ray::FixtureWorker`, the title Ray gives an actor's process)."""
        out = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if os.getsid(int(entry.name)) not in self.sessions:
                    continue
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, ProcessLookupError):
                continue
            if name in cmdline:
                out.append(int(entry.name))
        return out

    def __enter__(self) -> LocalRayCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=2)
    p.add_argument("--cpus", type=int, default=1, help="CPUs (so workers) per node")
    p.add_argument("--head-cpus", type=int, default=None, help="CPUs of the head node (default: --cpus)")
    p.add_argument("--object-store-mb", type=int, default=100)
    p.add_argument("--pythonpath", help="PYTHONPATH of the cluster's processes (e.g. tests/ray_plugins)")
    args = p.parse_args()

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)  # also when started in the background (SIGINT ignored there)
    with LocalRayCluster(
        args.nodes,
        args.cpus,
        args.object_store_mb,
        args.head_cpus,
        env={"PYTHONPATH": args.pythonpath} if args.pythonpath else None,
    ) as cluster:
        print(cluster.address, flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
