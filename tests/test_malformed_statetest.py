"""Malformed state-test fixtures through `evm-mlir statetest` (property tests): whatever the file
holds -- broken JSON, the wrong shapes, missing or mistyped fields -- the command exits with
status 1 and explains itself on one line; never a traceback. Runs the CLI's `main` in-process
(the same code path as the console script, without a process start per example) plus a few
real subprocess runs."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from client.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = (
    ROOT / "tests" / "fixtures" / "state_tests" / "cancun" / "eip7516_blobgasfee" / "test_blobbasefee_before_fork.json"
)
N = int(os.environ.get("HYP_N", 0))  # HYP_N=3000: more examples, not derandomized, to hunt
SETTINGS = settings(
    max_examples=N or 150,
    deadline=None,
    derandomize=not N,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_json = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.text(max_size=12),
        st.sampled_from(["0x", "0x00", "0xzz", "0x" + "11" * 20, "0x" + "ff" * 32, "Cancun", "Osaka"]),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


def run_cli(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["statetest", str(path)])
        except SystemExit as exc:  # argparse-style exits are fine, tracebacks are not
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def check_clean_failure(path: Path, allow_pass: bool = False) -> None:
    try:
        code, out, err = run_cli(path)
    except Exception as exc:  # an exception escaping main() is a traceback for the user
        raise AssertionError(f"exception escaped evm-mlir statetest: {type(exc).__name__}: {exc}") from exc
    assert "Traceback" not in out + err
    if allow_pass and code == 0:
        return
    assert code == 1, (code, out[-500:], err[-500:])
    assert len(err.strip().splitlines()) <= 1, err
    if err.strip():
        assert err.startswith("error: ")
    for line in out.strip().splitlines():  # per-case failures are one line each, then the summary
        assert line.startswith(("FAIL ", "SKIP ", "frames: ")) or " passed, " in line, line


@SETTINGS
@given(st.binary(max_size=200))
def test_arbitrary_bytes(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("st") / "t.json"
    path.write_bytes(raw)
    check_clean_failure(path, allow_pass=True)  # e.g. b"{}" is a file with no tests


@SETTINGS
@given(_json)
def test_arbitrary_json(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("st") / "t.json"
    path.write_text(json.dumps(doc))
    check_clean_failure(path, allow_pass=True)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


BASE = json.loads(SAMPLE.read_text())
PATHS = [p for p in _paths(BASE) if p]


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(PATHS), st.one_of(st.just("<delete>"), _json)), min_size=1, max_size=3))
def test_mutated_real_fixture(tmp_path_factory, edits):
    doc = copy.deepcopy(BASE)
    for path, value in edits:
        node = doc
        try:
            for k in path[:-1]:
                node = node[k]
            if value == "<delete>":
                del node[path[-1]]
            else:
                node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    p = tmp_path_factory.mktemp("st") / "t.json"
    p.write_text(json.dumps(doc))
    check_clean_failure(p, allow_pass=True)


def test_subprocess_bad_json_and_bad_shape(tmp_path):
    # the 'post' shapes are regressions: they used to escape as AttributeError / TypeError
    for content in [
        "{",
        '{"t": 5}',
        '{"t": {"post": [], "transaction": 1}}',
        "[1, 2]",
        '{"t": {"post": null, "transaction": {}}}',
        '{"t": {"post": {"Cancun": 3}, "transaction": {}}}',
        '{"t": {"post": {"Cancun": [7]}, "transaction": {}}}',
    ]:
        path = tmp_path / "t.json"
        path.write_text(content)
        p = subprocess.run(
            [sys.executable, "-m", "client.cli", "statetest", str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert p.returncode == 1, (content, p.stdout, p.stderr)
        assert "Traceback" not in p.stdout + p.stderr
        assert len(p.stderr.strip().splitlines()) <= 1, p.stderr
