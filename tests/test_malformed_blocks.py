"""Malformed block and header RLP, property-tested with hypothesis.

- `client.blocks.Block.decode` / `client.header.Header.decode` / `client.chain.validation.decode_block` on random bytes,
  random RLP structures, and real encoded blocks (every block of the vendored blockchain fixtures and of a
  synthetic dev chain with all five transaction types) mutated at the byte level and at the RLP-item level:
  only the documented errors (`BlockDecodeError`, `HeaderDecodeError`, `InvalidBlock`) come out, never IndexError,
  TypeError, ...; whatever decodes also re-encodes, hashes and computes its roots.
- `evm-mlir import` on garbage, truncated and mutated chain files: exit 0, or exit 1 with one `error: ...` line on
  stderr and no traceback; the datadir stays consistent and holds nothing beyond the last good block.
"""

from __future__ import annotations

import contextlib
import glob
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from state_checks import assert_state_complete

from client import cli
from client.blocks import Block, BlockDecodeError
from client.chain.store import ChainStore
from client.chain.validation import InvalidBlock, decode_block
from client.header import Header, HeaderDecodeError
from common import rlp
from state.db import StateDB
from tests.tools import make_chain

ROOT = Path(__file__).resolve().parent.parent
N = int(os.environ.get("HYP_N", 0))  # more examples, not derandomized, to hunt (HYP_N=2000)


def _settings(n: int):
    return settings(
        max_examples=N or n,
        deadline=None,
        derandomize=not N,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def _fixture_blocks() -> list[bytes]:
    out = []
    for path in sorted(glob.glob(str(ROOT / "tests" / "fixtures" / "blockchain*" / "**" / "*.json"), recursive=True)):
        try:
            doc = json.load(open(path))
        except ValueError:
            continue
        for test in doc.values() if isinstance(doc, dict) else ():
            if not isinstance(test, dict):
                continue
            for b in test.get("blocks", []):
                if b.get("rlp"):
                    out.append(bytes.fromhex(b["rlp"][2:]))
    return out


MAKER = make_chain.ChainMaker()
DEV_CHAIN = MAKER.make(4, 6)  # deploys, then every transaction type, withdrawals, logs
REAL_BLOCKS = DEV_CHAIN + _fixture_blocks()
REAL_TREES: list = []
for _b in REAL_BLOCKS:
    try:
        REAL_TREES.append(rlp.decode(_b))
    except rlp.DecodingError:
        pass  # fixtures of invalid blocks include bad RLP on purpose


def _decode_everything(data: bytes) -> None:
    """Every public decoder: only its documented error; what decodes is usable."""
    try:
        block = Block.decode(data)
    except BlockDecodeError as exc:
        assert exc.code and str(exc)
    else:
        assert Block.decode(block.encode()).hash == block.hash
        block.transactions_root(), block.withdrawals_root(), block.ommers_hash()
        for tx in block.transactions:
            _ = tx.hash  # computing it must not raise
    try:
        decode_block(data)
    except InvalidBlock as exc:
        assert exc.code
    try:
        header = Header.decode(data)
    except HeaderDecodeError:
        pass
    else:
        assert Header.decode(header.encode()) == header


# -- byte-level -----------------------------------------------------------------------------------------------


@st.composite
def mutated_block_bytes(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(REAL_BLOCKS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "prefix", "length"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 64))]
        elif kind == "prefix" and data:  # the RLP length prefixes are where decoders go wrong
            data[pos] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0x81, 0xB7, 0xB8, 0xBF, 0xC0, 0xF7, 0xF8, 0xFF]))
        elif kind == "length" and len(data) > 3:
            data[1:3] = draw(st.binary(min_size=2, max_size=2))
    return bytes(data)


@_settings(300)
@given(mutated_block_bytes())
def test_mutated_real_blocks(data):
    _decode_everything(data)


@_settings(150)
@given(st.binary(max_size=600))
def test_random_bytes(data):
    _decode_everything(data)


# -- structure-level: valid RLP, wrong shape ------------------------------------------------------------------

_leaf = st.one_of(
    st.sampled_from(
        [
            b"",
            b"\x00",
            b"\x01",
            b"\x00\x01",
            b"\x7f",
            b"\x80",
            b"\xff" * 8,
            b"\xff" * 9,
            b"\x01" * 20,
            b"\x01" * 32,
            b"\x01" * 33,
            b"\x01" * 256,
            b"\x02\xc0",
            b"\x05\xc0",
            b"\x04" + rlp.encode([b""] * 13),
            b"\x03" + rlp.encode([[b""] * 14]),
        ]
    ),
    st.binary(max_size=70),
)
rlp_items = st.recursive(_leaf, lambda inner: st.lists(inner, max_size=6), max_leaves=30)


def _paths(tree, path=()):
    yield path
    if isinstance(tree, list):
        for i, x in enumerate(tree):
            yield from _paths(x, path + (i,))


@st.composite
def mutated_block_tree(draw):
    import copy

    tree = copy.deepcopy(draw(st.sampled_from(REAL_TREES)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(tree))[1:] or [()]))
        if not path:
            continue
        parent = tree
        for i in path[:-1]:
            parent = parent[i]
        op = draw(st.sampled_from(["replace", "delete", "insert", "typed"]))
        if op == "replace":
            parent[path[-1]] = draw(rlp_items)
        elif op == "delete":
            del parent[path[-1]]
        elif op == "insert":
            parent.insert(path[-1], draw(rlp_items))
        else:  # inside a typed transaction's payload
            item = parent[path[-1]]
            if isinstance(item, bytes) and len(item) > 2 and item[0] < 0x80:
                try:
                    inner = rlp.decode(item[1:])
                except rlp.DecodingError:
                    continue
                if isinstance(inner, list) and inner:
                    inner[draw(st.integers(0, len(inner) - 1))] = draw(rlp_items)
                    parent[path[-1]] = item[:1] + rlp.encode(inner)
    return rlp.encode(tree)


@_settings(300)
@given(mutated_block_tree())
def test_mutated_block_structures(data):
    _decode_everything(data)


@_settings(100)
@given(rlp_items)
def test_random_rlp_structures(item):
    _decode_everything(rlp.encode(item))
    _decode_everything(rlp.encode([item, [], []]))
    _decode_everything(rlp.encode([[b""] * 15, item, []]))


def test_real_blocks_decode():
    for data in DEV_CHAIN:
        block = Block.decode(data)
        assert block.encode() == data


# -- evm-mlir import ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A datadir initialised with genesis/dev.json, copied for each example."""
    d = str(tmp_path_factory.mktemp("import") / "template")
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["init", "--genesis", str(ROOT / "genesis" / "dev.json"), "--datadir", d]) == 0
    return d


CHAIN_HASHES = [MAKER.genesis_header.hash] + [Block.decode(b).hash for b in DEV_CHAIN]


def _consistent(datadir: str, allowed: dict[bytes, int]) -> int:
    """The head is a block of the file (or the genesis) at most `allowed[hash]`; its state trie is complete;
    no canonical entry above it. Returns the head's number."""
    with ChainStore.open(datadir) as store:
        head = store.head_header()
        assert head.hash in allowed, "the head is not a block of the imported file"
        assert_state_complete(StateDB(store.kv, head.state_root), head.state_root)
        assert store.canonical_hash(head.number + 1) is None
        for n in range(head.number + 1):
            h = store.canonical_hash(n)
            assert h is not None and store.get_header(h).number == n
        return head.number


def _import(template: str, content: bytes) -> tuple[int, str, str]:
    tmp = tempfile.mkdtemp(prefix="evm-mlir-import-")
    try:
        datadir = os.path.join(tmp, "dd")
        shutil.copytree(template, datadir)
        path = os.path.join(tmp, "chain.rlp")
        with open(path, "wb") as f:
            f.write(content)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["import", "--evm", "interpreter", "--datadir", datadir, path])
        # the head is a block decoded from the file whose ancestors are all in the file (or the genesis)
        allowed = {MAKER.genesis_header.hash: 0}
        try:
            for raw in _spans(content):
                try:
                    b = Block.decode(raw)
                except BlockDecodeError:
                    break  # import stops at the first undecodable block
                allowed[b.hash] = b.number
        except Exception:
            pass
        head = _consistent(datadir, allowed)
        return code, err.getvalue(), str(head)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _spans(content: bytes):
    from client.chainfile import split_blocks

    return split_blocks(content)


def _check(code: int, err: str) -> None:
    assert code in (0, 1)
    if code == 1:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert "Traceback" not in err


@st.composite
def mutated_chain_file(draw) -> bytes:
    blocks = list(DEV_CHAIN)
    k = draw(st.integers(0, len(blocks) - 1))
    kind = draw(st.sampled_from(["truncate-file", "flip", "garbage-after", "swap", "drop", "structure"]))
    if kind == "truncate-file":
        data = b"".join(blocks)
        return data[: draw(st.integers(0, len(data) - 1))]
    if kind == "flip":
        b = bytearray(blocks[k])
        for _ in range(draw(st.integers(1, 3))):
            b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
        blocks[k] = bytes(b)
    elif kind == "garbage-after":
        return b"".join(blocks[: k + 1]) + draw(st.binary(min_size=1, max_size=40))
    elif kind == "swap" and k + 1 < len(blocks):
        blocks[k], blocks[k + 1] = blocks[k + 1], blocks[k]
    elif kind == "drop":
        del blocks[k]
    else:
        tree = rlp.decode(blocks[k])
        header = tree[0]
        i = draw(st.integers(0, len(header) - 1))
        header[i] = draw(rlp_items)
        blocks[k] = rlp.encode(tree)
    return b"".join(blocks)


@_settings(25)
@given(content=mutated_chain_file())
def test_import_of_mutated_chain_files(template, content):
    code, err, _ = _import(template, content)
    _check(code, err)


@pytest.mark.parametrize(
    "name,content",
    [
        ("empty", b""),
        ("not RLP", b"\x01\x02\x03"),
        ("a list announcing more than the file holds", b"\xf9\xff\xff" + b"\x00" * 10),
        ("a 2^64-byte list", b"\xff" + b"\xff" * 8),
        ("text", b"hello world\n"),
        ("a list of garbage", rlp.encode([b"x", b"y", b"z"])),
        ("truncated last block", b"".join(DEV_CHAIN)[:-5]),
        ("trailing garbage", b"".join(DEV_CHAIN) + b"\x00"),
        (
            "undecodable third block",
            b"".join(DEV_CHAIN[:2]) + rlp.encode([[b""] * 15, [], []]) + b"".join(DEV_CHAIN[3:]),
        ),
    ],
)
def test_import_garbage_files(template, name, content):
    code, err, head = _import(template, content)
    assert code == (0 if name == "empty" else 1), name  # an empty file is an empty chain (as geth)
    _check(code, err)
    if name == "undecodable third block":
        assert head == "2"  # the two good blocks before it are kept, nothing after
    elif name != "empty":
        assert head == "0"


def test_import_good_file(template):
    code, err, head = _import(template, b"".join(DEV_CHAIN))
    assert code == 0 and err == "" and head == str(len(DEV_CHAIN))


@pytest.mark.parametrize("command", ["blocktest", "statetest"])
@pytest.mark.parametrize("content", [b"[" * 5000, b'{"a": ' + b"9" * 5000 + b"}"], ids=["deep", "5000-digit"])
def test_fixture_files_that_python_json_refuses(tmp_path, capsys, command, content):
    """Deep nesting (RecursionError) and 5000-digit numbers (ValueError) were tracebacks from client/fixtures.py."""
    path = tmp_path / "fixture.json"
    path.write_bytes(content)
    assert cli.main([command, "--evm", "interpreter", "--jobs", "1", str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "invalid JSON" in err[0]
