"""The public blockchain tests through the Engine API against blocktest: convert them (client/engine/convert.py),
run `evm-mlir blocktest` on the sources and `evm-mlir enginetest` on the conversions, compare test by test and
print the per-network figures and what the payloads exercised (docs/engine.md).

    .venv/bin/python tests/tools/engine_vs_blocktest.py [--evm NAME] [--jobs N] [SRC...]
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PUBLIC = ["/work/shared/fixtures/public/eest/blockchain_tests", "/work/shared/fixtures/public/ethereum-tests"]


def run(args: list[str]) -> None:
    subprocess.run([sys.executable, "-m", *args], cwd=REPO, check=False, stdout=subprocess.DEVNULL)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("sources", nargs="*", default=PUBLIC)
    p.add_argument("--evm", default=None)
    p.add_argument("--jobs", default="2")
    a = p.parse_args()
    evm = ["--evm", a.evm] if a.evm else []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        run(["client.engine.convert", *a.sources, "--out", str(out / "engine")])
        run(["client.cli", "blocktest", *evm, "--jobs", a.jobs, "--json", str(out / "bt.json"), *a.sources])
        run(["client.cli", "enginetest", *evm, "--jobs", a.jobs, "--json", str(out / "et.json"), str(out / "engine")])
        bt, et = (json.loads((out / f).read_text()) for f in ("bt.json", "et.json"))
        dropped = not_recovered = 0
        for f in (out / "engine").rglob("*.json"):
            for t in json.loads(f.read_text()).values():
                dropped += len(t["_info"].get("droppedBlocks", []))
                not_recovered += len(t["_info"].get("requestsNotRecovered", []))
    print("network | blocktest | enginetest")
    for net in sorted(set(bt["summary"]["per_network"]) | set(et["summary"]["per_network"])):
        b, e = bt["summary"]["per_network"].get(net, {}), et["summary"]["per_network"].get(net)
        show = lambda c: f"{c.get('passed', 0)} passed, {c.get('failed', 0)} failed, {c.get('skipped', 0)} skipped"
        print(f"{net} | {show(b)} | {show(e) if e is not None else 'not converted'}")
    for name, doc in (("blocktest", bt), ("enginetest", et)):
        s = doc["summary"]
        print(f"{name}: {s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped")
    bstat = {t["test"]: t["status"] for t in bt["tests"]}
    differ = [t["test"] for t in et["tests"] if bstat.get(t["test"]) != t["status"]]
    stats: collections.Counter = collections.Counter()
    for t in et["tests"]:
        stats.update({k: v for k, v in t.get("stats", {}).items() if not k.startswith("frames")})
    print(f"payloads: {dict(stats)}; left out (undecodable): {dropped}; requests not recovered: {not_recovered}")
    print(f"tests with another result than blocktest's: {len(differ)}", *differ[:20], sep="\n  ")
    return 1 if differ or et["summary"]["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
