"""ecrecover, sha256, ripemd160, identity, modexp, blake2f: known vectors + cross-checks."""

from __future__ import annotations

import hashlib
import struct

import pytest
from coincurve import PrivateKey
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from evm.precompiles import PrecompileResult, is_precompile, precompiles_for
from evm.precompiles import blake2f as blake2f_module
from evm.precompiles.blake2f import IV, blake2f, compress
from evm.precompiles.ecrecover import ecrecover
from evm.precompiles.hashes import identity, ripemd160, sha256
from evm.precompiles.modexp import gas_cost
from evm.spec import Fork

ALL = list(Fork)


def addr(n: int) -> bytes:
    return n.to_bytes(20, "big")


def w(n: int) -> bytes:
    return n.to_bytes(32, "big")


# --- registry -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fork,expected",
    [
        (Fork.PARIS, list(range(1, 10))),
        (Fork.SHANGHAI, list(range(1, 10))),
        (Fork.CANCUN, list(range(1, 11))),
        (Fork.PRAGUE, list(range(1, 0x12))),
        (Fork.OSAKA, list(range(1, 0x12)) + [0x100]),
    ],
)
def test_registry_per_fork(fork, expected):
    table = precompiles_for(fork)
    assert sorted(int.from_bytes(a, "big") for a in table) == expected
    assert all(len(a) == 20 and callable(f) for a, f in table.items())
    for n in expected:
        assert is_precompile(addr(n), fork)
    assert not is_precompile(addr(0), fork)
    assert not is_precompile(addr(max(expected) + 1), fork)
    assert not is_precompile(b"\x01" + addr(1)[1:], fork)


# --- ecrecover ------------------------------------------------------------------------------


def _sign(msg_hash: bytes, key: PrivateKey) -> tuple[int, bytes]:
    sig = key.sign_recoverable(msg_hash, hasher=None)
    return sig[64] + 27, sig[:64]


def test_ecrecover_recovers_signer():
    key = PrivateKey(b"\x11" * 32)
    expected = keccak(key.public_key.format(compressed=False)[1:])[12:]
    h = keccak(b"hello")
    v, rs = _sign(h, key)
    res = ecrecover(h + w(v) + rs, 3000, Fork.PARIS)
    assert res == PrecompileResult(True, b"\x00" * 12 + expected, 3000)


def test_ecrecover_known_vector():
    # the classic ethereum/tests CallEcrecover0 vector
    data = bytes.fromhex(
        "18c547e4f7b0f325ad1e56f57e26c745b09a3e503d86e00e5255ff7f715d3d1c"
        "000000000000000000000000000000000000000000000000000000000000001c"
        "73b1693892219d736caba55bdb67216e485557ea6b6af75f37096c9aa6a5a75f"
        "eeb940b1d03b21e36b0e47e79769f095fe2ab855bd91e3a38756b7d75a9c4549"
    )
    res = ecrecover(data, 3000, Fork.CANCUN)
    assert res.output.hex() == "000000000000000000000000a94f5374fce5edbc8e2a8697c15331677e6ebf0b"


@pytest.mark.parametrize("mutate", ["v26", "v29", "v_high_bytes", "r0", "s0", "r_n", "s_n", "bad_r"])
def test_ecrecover_invalid_inputs_return_empty(mutate):
    key = PrivateKey(b"\x22" * 32)
    h = keccak(b"x")
    v, rs = _sign(h, key)
    r, s = int.from_bytes(rs[:32], "big"), int.from_bytes(rs[32:], "big")
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    vw = w(v)
    if mutate == "v26":
        vw = w(26)
    elif mutate == "v29":
        vw = w(29)
    elif mutate == "v_high_bytes":
        vw = b"\x01" + w(v)[1:]
    elif mutate == "r0":
        r = 0
    elif mutate == "s0":
        s = 0
    elif mutate == "r_n":
        r = n
    elif mutate == "s_n":
        s = n
    elif mutate == "bad_r":
        r = 5  # x = 5 is not on secp256k1 (5^3+7 = 132 is not a QR)... checked below
    res = ecrecover(h + vw + w(r) + w(s), 5000, Fork.PARIS)
    assert res == PrecompileResult(True, b"", 3000)


def test_ecrecover_short_input_is_zero_padded_and_gas():
    assert ecrecover(b"", 3000, Fork.PARIS) == PrecompileResult(True, b"", 3000)
    res = ecrecover(b"", 2999, Fork.PARIS)
    assert not res.success and res.gas_used == 2999 and res.output == b""


# --- hashes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"abc", b"\x00" * 32, b"\xff" * 33, bytes(range(256)) * 3])
def test_hashes(data):
    nw = (len(data) + 31) // 32
    assert sha256(data, 10**6, Fork.PARIS) == PrecompileResult(True, hashlib.sha256(data).digest(), 60 + 12 * nw)
    rip = ripemd160(data, 10**6, Fork.PARIS)
    assert rip.success and rip.gas_used == 600 + 120 * nw and rip.output[:12] == b"\x00" * 12
    assert identity(data, 10**6, Fork.PARIS) == PrecompileResult(True, data, 15 + 3 * nw)


def test_ripemd160_known_vectors():
    assert ripemd160(b"", 600, Fork.PARIS).output.hex() == "0" * 24 + "9c1185a5c5e9fc54612808977ee8f548b2258d31"
    assert ripemd160(b"abc", 720, Fork.PARIS).output.hex() == "0" * 24 + "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"


@pytest.mark.parametrize("fn,base,per", [(sha256, 60, 12), (ripemd160, 600, 120), (identity, 15, 3)])
def test_hash_gas_boundary(fn, base, per):
    data = b"\x01" * 33  # two words
    assert fn(data, base + 2 * per, Fork.PARIS).success
    res = fn(data, base + 2 * per - 1, Fork.PARIS)
    assert res == PrecompileResult(False, b"", base + 2 * per - 1)


# --- modexp ---------------------------------------------------------------------------------


def modexp(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
    """MODEXP as the fork's precompile table has it (Osaka's replaces the EIP-2565 one)."""
    return precompiles_for(fork)[(5).to_bytes(20, "big")](data, gas, fork)


def mx(base: bytes, exp: bytes, mod: bytes) -> bytes:
    return w(len(base)) + w(len(exp)) + w(len(mod)) + base + exp + mod


def test_modexp_eip198_examples():
    # 3^(p-1) mod p == 1 (EIP-198 example 1)
    p = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
    data = mx(b"\x03", w(p - 1), w(p))
    res = modexp(data, 10**6, Fork.PARIS)
    assert res.success and res.output == w(1)
    # EIP-2565: complexity 16 (32 bytes -> 4 words), iterations 255, 16*255//3 = 1360
    assert res.gas_used == 1360
    # EIP-198 example 2: exponent 0 with modulus 0 -> output zeros of modulus length
    data = w(0) + w(32) + w(32) + w(p - 1) + w(p)[:0]  # base_len 0, exp, mod all-zero bytes
    res = modexp(w(0) + w(32) + w(32) + w(p - 1), 10**6, Fork.PARIS)
    assert res.success and res.output == b"\x00" * 32


def test_modexp_empty_and_truncated():
    assert modexp(b"", 200, Fork.PARIS) == PrecompileResult(True, b"", 200)
    assert modexp(b"", 500, Fork.OSAKA) == PrecompileResult(True, b"", 500)
    assert not modexp(b"", 499, Fork.OSAKA).success
    # input shorter than declared: missing bytes read as zeros
    res = modexp(w(1) + w(1) + w(1) + b"\x02\x03", 10**6, Fork.PARIS)  # modulus missing -> 0
    assert res.output == b"\x00"
    res = modexp(w(1) + w(1) + w(2) + b"\x02\x03\x00", 10**6, Fork.PARIS)  # mod = 0x0000?? -> 0x00 + pad
    assert res.output == b"\x00\x00"
    res = modexp(w(1) + w(1) + w(2) + b"\x02\x03\x01", 10**6, Fork.PARIS)  # mod = 0x0100 = 256, 8 % 256
    assert res.output == b"\x00\x08"


def test_modexp_huge_lengths_out_of_gas_pre_osaka():
    data = w(2**255) + w(1) + w(1)
    res = modexp(data, 30_000_000, Fork.PRAGUE)
    assert not res.success and res.gas_used == 30_000_000
    # zero base/mod length with a huge exponent length costs only the minimum
    # zero base and modulus length: complexity 0, so a huge exponent length costs only the minimum
    assert modexp(w(0) + w(2**255) + w(0), 10**6, Fork.PRAGUE) == PrecompileResult(True, b"", 200)
    assert modexp(w(0) + w(2**255) + w(0), 500, Fork.OSAKA) == PrecompileResult(False, b"", 500)  # EIP-7823


@pytest.mark.parametrize("which", [0, 1, 2])
def test_modexp_osaka_upper_bound(which):
    lens = [1, 1, 1]
    lens[which] = 1024
    data = b"".join(w(n) for n in lens) + b"\x01" * sum(lens)
    assert modexp(data, 10**8, Fork.OSAKA).success
    lens[which] = 1025
    data = b"".join(w(n) for n in lens) + b"\x01" * sum(lens)
    assert not modexp(data, 10**8, Fork.OSAKA).success
    assert modexp(data, 10**8, Fork.PRAGUE).success  # no bound before Osaka


@pytest.mark.parametrize(
    "b,e,m,head,prague,osaka",
    [
        (1, 1, 1, 0, 200, 500),  # minimum prices
        (32, 32, 32, 2**255, 1360, 4080),  # complexity 16, 255 iterations
        (64, 32, 64, 2**255, 5440, 32640),  # 8 words: 64 (vs 2*64=128) * 255
        (1, 64, 1, 1, 200, 16 * 512),  # exp > 32 bytes: 8*32 (vs 16*32) iterations
        (64, 64, 64, 1, 64 * 256 // 3, 128 * 512),
        (0, 0, 0, 0, 200, 500),
    ],
)
def test_modexp_gas_formulas(b, e, m, head, prague, osaka):
    assert gas_cost(b, e, m, head, False) == prague
    assert gas_cost(b, e, m, head, True) == osaka


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=40), st.binary(max_size=40), st.binary(min_size=1, max_size=40))
def test_modexp_matches_pow(base, exp, mod):
    res = modexp(mx(base, exp, mod), 10**9, Fork.CANCUN)
    m = int.from_bytes(mod, "big")
    expected = (
        b"\x00" * len(mod)
        if m == 0
        else pow(int.from_bytes(base, "big"), int.from_bytes(exp, "big"), m).to_bytes(len(mod), "big")
    )
    assert res.success and res.output == expected


# --- blake2f --------------------------------------------------------------------------------


def _blake2f_input(rounds: int, msg: bytes, final: int = 1) -> bytes:
    """F parameters that make one compression equal BLAKE2b-512(msg) for |msg| <= 128."""
    h = list(IV)
    h[0] ^= 0x01010040  # digest length 64, no key, fanout/depth 1
    block = msg + b"\x00" * (128 - len(msg))
    return struct.pack(">I", rounds) + struct.pack("<8Q", *h) + block + struct.pack("<2Q", len(msg), 0) + bytes([final])


# EIP-152 test vector 4 ("abc", 12 rounds); its hex starts 0000000c48c9bdf267e6096a...
EIP152_INPUT_ABC = _blake2f_input(12, b"abc")
EIP152_OUTPUT_ABC = bytes.fromhex(
    "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc"
    "9518d38aa8dbf1925ab92386edd4009923"
)


def test_blake2f_eip152_vectors():
    assert EIP152_INPUT_ABC.hex().startswith("0000000c48c9bdf267e6096a3ba7ca8485ae67bb2bf894fe72f36e3cf1361d5f3af54f")
    assert len(EIP152_INPUT_ABC) == 213
    assert blake2f(EIP152_INPUT_ABC, 12, Fork.PARIS) == PrecompileResult(True, EIP152_OUTPUT_ABC, 12)
    # vector 5: f = 0
    res = blake2f(EIP152_INPUT_ABC[:-1] + b"\x00", 12, Fork.PARIS)
    assert res.output.hex().startswith("75ab69d3190a562c51aef8d88f1c2775876944407270c42c9844252c26d28752")
    # vector 6: one round
    res = blake2f(b"\x00\x00\x00\x01" + EIP152_INPUT_ABC[4:], 1, Fork.PARIS)
    assert res.output.hex().startswith("b63a380cb2897d521994a85234ee2c181b5f844d2c624c002677e9703449d2fb")
    # vector 7 (rounds 0): allowed, gas 0
    res = blake2f(b"\x00\x00\x00\x00" + EIP152_INPUT_ABC[4:], 0, Fork.PARIS)
    assert res.success and res.gas_used == 0
    assert res.output.hex().startswith("08c9bcf367e6096a3ba7ca8485ae67bb2bf894fe72f36e3cf1361d5f3af54fa5")


@pytest.mark.parametrize(
    "data", [b"", EIP152_INPUT_ABC[:-1], EIP152_INPUT_ABC + b"\x00", EIP152_INPUT_ABC[:-1] + b"\x02"]
)
def test_blake2f_invalid(data):
    assert blake2f(data, 100, Fork.PARIS) == PrecompileResult(False, b"", 100)


def test_blake2f_out_of_gas():
    assert not blake2f(EIP152_INPUT_ABC, 11, Fork.PARIS).success


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=128))
def test_blake2f_matches_hashlib_single_block(msg):
    data = _blake2f_input(12, msg)
    assert blake2f(data, 12, Fork.PARIS).output == hashlib.blake2b(msg).digest()


def test_blake2f_native_jit_active_and_matches_python():
    blake2f(EIP152_INPUT_ABC, 12, Fork.PARIS)
    assert blake2f_module._native, "llvmlite JIT for BLAKE2F failed to load (pure Python is ~300x slower)"


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 40), st.binary(min_size=208, max_size=208), st.sampled_from([0, 1]))
def test_blake2f_native_matches_python_reference(rounds, body, final):
    data = struct.pack(">I", rounds) + body + bytes([final])
    h = struct.unpack_from("<8Q", data, 4)
    m = struct.unpack_from("<16Q", data, 68)
    t0, t1 = struct.unpack_from("<2Q", data, 196)
    expected = struct.pack("<8Q", *compress(rounds, h, m, t0, t1, final == 1))
    assert blake2f(data, rounds, Fork.CANCUN) == PrecompileResult(True, expected, rounds)
