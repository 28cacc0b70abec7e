"""Malformed genesis files through `evm-mlir init`, property-tested: random JSON documents, the dev genesis with
one field replaced by a value of the wrong type, bad hex, huge numbers, missing fields, deep nesting, bytes that
are not UTF-8. Whatever the file, `init` either succeeds or prints exactly one `error: ...` line on stderr, exits 1,
shows no traceback, and leaves no datadir behind.

Most examples run `client.cli.main` in-process (an escaping exception fails the test: that would be a traceback);
a few go through the real console script to check the process-level contract."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from client import cli

ROOT = Path(__file__).resolve().parent.parent
DEV = json.loads((ROOT / "genesis" / "dev.json").read_text())
SETTINGS = settings(
    max_examples=int(os.environ.get("HYP_N", 60)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=not os.environ.get("HYP_N"),
)

# -- strategies ---------------------------------------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**300), max_value=2**300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            "0x",
            "0X",
            "0x0",
            "0x00",
            "0xg",
            "0x-1",
            "-1",
            "0x1_0",
            " 0x1",
            "0x 1",
            "1e3",
            "0x" + "f" * 65,
            "0x" + "f" * 64,
            "0x" + "ab" * 20,
            "0x" + "ab" * 33,
            "0x" + "ab" * 19 + "a",
            "ab" * 20,
            "12345678901234567890123",
            "0x" + "1" * 200,
            "99999999999999999999999999999999999999999999999999999999999999999999999999999999",
        ]
    ),
)
json_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)

_ADDRESS = next(iter(DEV["alloc"]))
# every place of the dev genesis a user could get wrong
_PATHS = (
    [("config",), ("alloc",)]
    + [("config", k) for k in DEV["config"]]
    + [
        ("config", "blobSchedule", "cancun"),
        ("config", "blobSchedule", "cancun", "max"),
        ("config", "depositContractAddress"),
        ("config", "bpo1Time"),
    ]
    + [
        (k,)
        for k in (
            "nonce",
            "timestamp",
            "extraData",
            "gasLimit",
            "difficulty",
            "mixHash",
            "mixhash",
            "coinbase",
            "number",
            "gasUsed",
            "parentHash",
            "baseFeePerGas",
            "excessBlobGas",
            "blobGasUsed",
        )
    ]
    + [("alloc", _ADDRESS, k) for k in ("balance", "nonce", "code", "storage")]
    + [
        ("alloc", _ADDRESS),
        ("alloc", "0x" + "ab" * 20),
        ("alloc", "not an address"),
        ("alloc", _ADDRESS, "storage", "0x01"),
        ("alloc", _ADDRESS, "storage", "0x" + "f" * 65),
    ]
)


def _set(doc: dict, path: tuple, value, delete: bool) -> dict:
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    if delete:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return doc


@st.composite
def mutated_dev_genesis(draw) -> dict:
    doc = DEV
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_PATHS))
        doc = _set(doc, path, draw(json_values), draw(st.booleans()))
    return doc


# -- running init -------------------------------------------------------------------------------------------


def _init_in_process(content: bytes) -> None:
    tmp = tempfile.mkdtemp(prefix="evm-mlir-genesis-")
    try:
        path = os.path.join(tmp, "genesis.json")
        with open(path, "wb") as f:
            f.write(content)
        datadir = os.path.join(tmp, "new", "data")
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = cli.main(["init", "--genesis", path, "--datadir", datadir])
        if code == 0:
            assert os.path.isdir(os.path.join(datadir, "chaindata"))
            return
        assert code == 1
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err.getvalue()
        assert "Traceback" not in lines[0]
        assert len(lines[0]) < 400
        assert not os.path.exists(os.path.join(tmp, "new")), "a failed init left a datadir behind"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _dump(doc) -> bytes:
    return json.dumps(doc, allow_nan=True).encode()


@SETTINGS
@given(json_values)
def test_random_json_documents(doc):
    _init_in_process(_dump(doc))


@SETTINGS
@given(mutated_dev_genesis())
def test_dev_genesis_with_wrong_fields(doc):
    _init_in_process(_dump(doc))


@settings(max_examples=int(os.environ.get("HYP_N", 40)), deadline=None, derandomize=not os.environ.get("HYP_N"))
@given(st.binary(max_size=300))
def test_random_bytes(raw):
    _init_in_process(raw)


@settings(max_examples=int(os.environ.get("HYP_N", 40)), deadline=None, derandomize=not os.environ.get("HYP_N"))
@given(st.integers(0, len(json.dumps(DEV)) - 1), st.binary(min_size=1, max_size=3))
def test_truncated_or_corrupted_dev_genesis(cut, junk):
    text = json.dumps(DEV, indent=1).encode()
    _init_in_process(text[:cut])
    _init_in_process(text[:cut] + junk + text[cut + len(junk) :])


# Found by the tests above (each was a traceback before the fix in client/genesis.py):
REGRESSIONS = {
    "deep nesting (RecursionError in json)": b"[" * 100_000 + b"]" * 100_000,
    "an integer of 5000 digits (ValueError in json)": b'{"config":{"chainId":' + b"9" * 5000 + b'},"alloc":{}}',
    "Cancun without Shanghai (header with a hole)": json.dumps(
        {"config": {"chainId": 1, "londonBlock": 0, "cancunTime": 0}, "alloc": {}}
    ).encode(),
    "Osaka without Prague": json.dumps(
        {"config": {"chainId": 1, "londonBlock": 0, "shanghaiTime": 0, "cancunTime": 0, "osakaTime": 0}, "alloc": {}}
    ).encode(),
    "Prague before Cancun": json.dumps(
        {"config": {"chainId": 1, "londonBlock": 0, "shanghaiTime": 0, "cancunTime": 10, "pragueTime": 5}, "alloc": {}}
    ).encode(),
}


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regressions(name):
    _init_in_process(REGRESSIONS[name])


@pytest.mark.parametrize(
    "content",
    [
        REGRESSIONS["deep nesting (RecursionError in json)"],
        b"\xff\xfe{\x00",
        json.dumps({**DEV, "gasLimit": -1}).encode(),
    ],
)
def test_console_script_one_line_exit_1(tmp_path, content):
    path = tmp_path / "g.json"
    path.write_bytes(content)
    p = subprocess.run(
        [sys.executable, "-m", "client.cli", "init", "--genesis", str(path), "--datadir", str(tmp_path / "dd")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert p.returncode == 1
    assert len(p.stderr.splitlines()) == 1 and p.stderr.startswith("error: ") and "Traceback" not in p.stderr
    assert not (tmp_path / "dd").exists()
