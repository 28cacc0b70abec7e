"""The benchmark programs (bench/programs.json of the project's revm comparison), the
`evm-mlir run` command and the backend registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evm_helpers import run

from client.cli import main
from client.errors import UserError
from evm.backends import available_backends, get_backend, register_backend
from evm.interpreter import InterpreterBackend

PROGRAMS = json.loads((Path(__file__).parent / "fixtures" / "bench_programs.json").read_text())


@pytest.mark.parametrize(
    "name,n",
    [
        ("factorial", 57),
        ("factorial", 10),
        ("factorial", 0),
        ("fibonacci", 10),
        ("fibonacci", 1000),
        ("fibonacci", 0),
        ("factorial", 1000),
    ],
)
def test_bench_programs(name, n):
    prog = PROGRAMS[name]
    r = run(prog["code"], n.to_bytes(32, "big"), gas=10_000_000)
    assert r.status == "success"
    assert "0x" + r.output.hex() == prog["examples"][str(n)]


def test_cli_run_json(capsys):
    prog = PROGRAMS["fibonacci"]
    assert (
        main(["run", "--code", prog["code"], "--input", (1000).to_bytes(32, "big").hex(), "--json", "--repeat", "3"])
        == 0
    )
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out == {"status": "success", "output": prog["examples"]["1000"], "gasUsed": 63051, "error": None}


def test_cli_run_hex_and_errors(capsys):
    assert main(["run", "--code", "0x600160005260206000f3"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "0x" + "00" * 31 + "01"
    assert main(["run", "--code", "60016000fd", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "revert"
    assert main(["run", "--code", "01", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "error" and doc["error"] == "StackUnderflow" and doc["output"] == "0x"
    assert main(["run", "--code", "5f", "--fork", "Paris", "--json", "--gas", "100"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["error"] == "InvalidOpcode" and doc["gasUsed"] == 100


@pytest.mark.parametrize(
    "argv",
    [
        ["--code", "zz"],
        ["--code", "123"],
        ["--code", "00", "--input", "0xg0"],
        ["--code", "00", "--fork", "Frontier"],
        ["--code", "00", "--evm", "nope"],
        ["--code", "00", "--repeat", "0"],
    ],
)
def test_cli_run_user_errors(argv, capsys):
    assert main(["run", *argv]) == 1
    assert capsys.readouterr().err.startswith("error: ")


def test_backend_registry():
    assert "interpreter" in available_backends()
    assert isinstance(get_backend("interpreter"), InterpreterBackend)
    with pytest.raises(ValueError, match="available: .*interpreter"):
        get_backend("no-such-backend")

    class Echo(InterpreterBackend):
        name = "echo-test"

    register_backend("echo-test", Echo)
    assert "echo-test" in available_backends()
    r = run("600760005260206000f3", backend="echo-test")
    assert r.word == 7
    assert isinstance(get_backend("echo-test"), Echo)


def test_user_error_type():
    from client.commands.run_cmd import parse_hex

    with pytest.raises(UserError):
        parse_hex("0xz", "code")
    assert parse_hex(" 0xABcd ", "code") == b"\xab\xcd"
