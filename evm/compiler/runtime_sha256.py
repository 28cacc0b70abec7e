"""SHA-256 and the native precompile call of the runtime (LLVM IR text, appended to the runtime
module by runtime.runtime_ir).

* ``rt_sha256(data, len, out)``: SHA-256 (FIPS 180-4): OpenSSL's ``SHA256`` for inputs of two blocks
  or more (bound at JIT load by precompile_calls.bind), the compression function generated here (its
  64 rounds and message schedule unrolled into SSA values) for one block, and for every input when
  libcrypto was not found.
* ``rt_precompile(ctx, gas, addr, req, in_off, in_size, out_off, out_size) -> i64``: a CALL*
  without value to a precompile whose bit is set in the context's PC_MASK (see docs/compiler.md,
  "Native precompile calls"): IDENTITY (0x04), SHA256 (0x02) and RIPEMD160 (0x03, libcrypto) without
  leaving native code, the others through one Python callback (precompile_calls.lean_call). Returns 2
  when it does not apply (the caller then takes the generic Python host path), else the success flag
  (1/0) with the caller's new gas stored in ctx GAS.
"""
from __future__ import annotations

from . import layout as L

_K = [
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
]
_H0 = [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19]


def _s32(v: int) -> int:
    """An i32 constant in LLVM's signed spelling."""
    return v - (1 << 32) if v >= 1 << 31 else v


def _block_ir() -> str:
    """`void @sha256_block(ptr %h, ptr %p)`: compress one 64-byte block `p` into the state `h`
    (8 x i32, native order)."""
    out = ["define internal void @sha256_block(ptr %h, ptr %p) {"]
    n = [0]

    def tmp() -> str:
        n[0] += 1
        return f"%t{n[0]}"

    def op(kind: str, a: str, b) -> str:
        r = tmp()
        out.append(f"  {r} = {kind} i32 {a}, {b}")
        return r

    def rotr(a: str, k: int) -> str:
        r = tmp()
        out.append(f"  {r} = call i32 @llvm.fshr.i32(i32 {a}, i32 {a}, i32 {k})")
        return r

    def xor3(a: str, b: str, c: str) -> str:
        return op("xor", op("xor", a, b), c)

    H = []
    for i in range(8):
        p, v = tmp(), tmp()
        out += [f"  {p} = getelementptr i32, ptr %h, i64 {i}", f"  {v} = load i32, ptr {p}, align 4"]
        H.append(v)
    W = []
    for i in range(16):
        p, v, s = tmp(), tmp(), tmp()
        out += [f"  {p} = getelementptr i8, ptr %p, i64 {4 * i}", f"  {v} = load i32, ptr {p}, align 1",
                f"  {s} = call i32 @llvm.bswap.i32(i32 {v})"]
        W.append(s)
    for i in range(16, 64):
        x, y = W[i - 15], W[i - 2]
        s0 = xor3(rotr(x, 7), rotr(x, 18), op("lshr", x, 3))
        s1 = xor3(rotr(y, 17), rotr(y, 19), op("lshr", y, 10))
        W.append(op("add", op("add", W[i - 16], s0), op("add", W[i - 7], s1)))
    a, b, c, d, e, f, g, h = H
    for i in range(64):
        S1 = xor3(rotr(e, 6), rotr(e, 11), rotr(e, 25))
        ch = op("xor", op("and", e, f), op("and", op("xor", e, "-1"), g))
        t1 = op("add", op("add", op("add", h, S1), op("add", ch, _s32(_K[i]))), W[i])
        S0 = xor3(rotr(a, 2), rotr(a, 13), rotr(a, 22))
        maj = op("or", op("and", a, b), op("and", c, op("or", a, b)))
        t2 = op("add", S0, maj)
        h, g, f, e, d, c, b, a = g, f, e, op("add", d, t1), c, b, a, op("add", t1, t2)
    for i, v in enumerate((a, b, c, d, e, f, g, h)):
        p = tmp()
        s = op("add", H[i], v)
        out += [f"  {p} = getelementptr i32, ptr %h, i64 {i}", f"  store i32 {s}, ptr {p}, align 4"]
    out.append("  ret void\n}")
    return "\n".join(out)


_INIT = "\n".join(
    f"  %hp{i} = getelementptr i32, ptr %st, i64 {i}\n  store i32 {_s32(v)}, ptr %hp{i}, align 4"
    for i, v in enumerate(_H0))
_FINAL = "\n".join(
    f"  %fp{i} = getelementptr i32, ptr %st, i64 {i}\n  %fv{i} = load i32, ptr %fp{i}, align 4\n"
    f"  %fs{i} = call i32 @llvm.bswap.i32(i32 %fv{i})\n"
    f"  %fo{i} = getelementptr i8, ptr %out, i64 {4 * i}\n  store i32 %fs{i}, ptr %fo{i}, align 1"
    for i in range(8))

SHA256_IR = r"""
declare i32 @llvm.fshr.i32(i32, i32, i32)
declare i32 @llvm.bswap.i32(i32)
declare i64 @llvm.bswap.i64(i64)

; Set at JIT load (precompile_calls.bind): libcrypto's SHA256 and RIPEMD160 (null when not found) and
; the Python callback for the other precompiles.
@rt_sha256_lib = global ptr null
@rt_ripemd160_lib = global ptr null
@rt_precompile_py = global ptr null

; SHA-256: libcrypto from two blocks on; one block (< 56 bytes) here, where the unrolled compression
; beats the library call's fixed cost (see docs/compiler.md, "Native precompile calls")
define void @rt_sha256(ptr %data, i64 %len, ptr %out) {
entry:
  %one = icmp ult i64 %len, 56
  br i1 %one, label %ir, label %lib
lib:
  %fn = load ptr, ptr @rt_sha256_lib, align 8
  %has = icmp ne ptr %fn, null
  br i1 %has, label %call, label %ir
call:
  %r = call ptr %fn(ptr %data, i64 %len, ptr %out)
  ret void
ir:
  call void @sha256_ir(ptr %data, i64 %len, ptr %out)
  ret void
}

define internal void @sha256_ir(ptr %data, i64 %len, ptr %out) {
entry:
  %st = alloca [8 x i32], align 4
  %buf = alloca [128 x i8], align 8
INIT
  br label %loop
loop:
  %p = phi ptr [ %data, %entry ], [ %p2, %blk ]
  %l = phi i64 [ %len, %entry ], [ %l2, %blk ]
  %full = icmp uge i64 %l, 64
  br i1 %full, label %blk, label %last
blk:
  call void @sha256_block(ptr %st, ptr %p)
  %p2 = getelementptr i8, ptr %p, i64 64
  %l2 = sub i64 %l, 64
  br label %loop
last:
  ; tail, 0x80, zeros, 64-bit big-endian bit length: one block when the tail is < 56 bytes
  call void @llvm.memset.p0.i64(ptr %buf, i8 0, i64 128, i1 false)
  call void @llvm.memcpy.p0.p0.i64(ptr %buf, ptr %p, i64 %l, i1 false)
  %mp = getelementptr i8, ptr %buf, i64 %l
  store i8 -128, ptr %mp
  %two = icmp uge i64 %l, 56
  %nb = select i1 %two, i64 128, i64 64
  %lenp_off = sub i64 %nb, 8
  %lenp = getelementptr i8, ptr %buf, i64 %lenp_off
  %bits = shl i64 %len, 3
  %bitsbe = call i64 @llvm.bswap.i64(i64 %bits)
  store i64 %bitsbe, ptr %lenp, align 1
  call void @sha256_block(ptr %st, ptr %buf)
  br i1 %two, label %second, label %done
second:
  %b2 = getelementptr i8, ptr %buf, i64 64
  call void @sha256_block(ptr %st, ptr %b2)
  br label %done
done:
FINAL
  ret void
}

; CALL* to a precompile (see the module docstring). addr: the address operand when < 64, else 255
; (and 255 for a CALL/CALLCODE with value); req: the gas operand clamped to 2**63-1; offsets are only
; meaningful when their size is non-zero (memory was expanded over both ranges by the caller).
define i64 @rt_precompile(ptr %ctx, i64 %gas, i64 %addr, i64 %req, i64 %in_off, i64 %in_size,
                          i64 %out_off, i64 %out_size) {
entry:
  %small = icmp ult i64 %addr, 64
  br i1 %small, label %mask, label %python
mask:
  %mkp = getelementptr i8, ptr %ctx, i64 PC_MASK
  %mk = load i64, ptr %mkp, align 8
  %mb = lshr i64 %mk, %addr
  %bit = trunc i64 %mb to i1
  %fp = getelementptr i8, ptr %ctx, i64 FRAME
  %depth = load i64, ptr %fp, align 8
  %deep = icmp sge i64 %depth, 1024
  %go = xor i1 %deep, true
  %ok = and i1 %bit, %go
  br i1 %ok, label %charge, label %python
charge:
  ; EIP-150: the child gets min(req, gas - gas/64); the precompile's cost comes out of it
  %g64 = lshr i64 %gas, 6
  %avail = sub i64 %gas, %g64
  %child = call i64 @llvm.umin.i64(i64 %req, i64 %avail)
  %g1 = sub i64 %gas, %child
  %w1 = add i64 %in_size, 31
  %words = lshr i64 %w1, 5
  %gp = getelementptr i8, ptr %ctx, i64 GAS
  %rlp = getelementptr i8, ptr %ctx, i64 RD_LEN
  %rpp = getelementptr i8, ptr %ctx, i64 RD_PTR
  %mpp = getelementptr i8, ptr %ctx, i64 MEM_PTR
  %hasin = icmp ne i64 %in_size, 0
  %io = select i1 %hasin, i64 %in_off, i64 0
  switch i64 %addr, label %lean [ i64 2, label %k_sha
                                  i64 3, label %k_rmd
                                  i64 4, label %k_id ]
k_sha:
  %c2w = mul i64 %words, 12
  %c2 = add i64 %c2w, 60
  br label %native
k_rmd:
  %rfn0 = load ptr, ptr @rt_ripemd160_lib, align 8
  %nolib = icmp eq ptr %rfn0, null
  br i1 %nolib, label %lean, label %k_rmd2
k_rmd2:
  %c3w = mul i64 %words, 120
  %c3 = add i64 %c3w, 600
  br label %native
k_id:
  %c4w = mul i64 %words, 3
  %c4 = add i64 %c4w, 15
  br label %native
native:
  %cost = phi i64 [ %c2, %k_sha ], [ %c3, %k_rmd2 ], [ %c4, %k_id ]
  %outlen = phi i64 [ 32, %k_sha ], [ 32, %k_rmd2 ], [ %in_size, %k_id ]
  %short = icmp ugt i64 %cost, %child
  br i1 %short, label %fail, label %buffer
fail:
  ; the precompile halts: the child's gas is consumed, the return data is empty
  store i64 %g1, ptr %gp, align 8
  store i64 0, ptr %rlp, align 8
  ret i64 0
buffer:
  %buf = call ptr @buf_reserve(ptr %ctx, i64 RDBUF_PTR, i64 RDBUF_CAP, i64 %outlen, i64 0)
  %nomem = icmp eq ptr %buf, null
  br i1 %nomem, label %python, label %run
run:
  ; the output goes to the return-data buffer first: input and output ranges may overlap
  %mem = load ptr, ptr %mpp, align 8
  %inp = getelementptr i8, ptr %mem, i64 %io
  switch i64 %addr, label %copy [ i64 2, label %hash
                                  i64 3, label %rmd ]
hash:
  call void @rt_sha256(ptr %inp, i64 %in_size, ptr %buf)
  br label %result
rmd:
  ; 12 zero bytes, then the 20-byte digest
  %rfn = load ptr, ptr @rt_ripemd160_lib, align 8
  call void @llvm.memset.p0.i64(ptr %buf, i8 0, i64 12, i1 false)
  %rout = getelementptr i8, ptr %buf, i64 12
  %rr = call ptr %rfn(ptr %inp, i64 %in_size, ptr %rout)
  br label %result
copy:
  call void @llvm.memcpy.p0.p0.i64(ptr %buf, ptr %inp, i64 %in_size, i1 false)
  br label %result
result:
  store ptr %buf, ptr %rpp, align 8
  store i64 %outlen, ptr %rlp, align 8
  %g2 = add i64 %g1, %child
  %g3 = sub i64 %g2, %cost
  br label %out
lean:
  ; another precompile: its Python function through one callback (precompile_calls.lean_call), which
  ; leaves the output as the return data and answers the gas used, -1 (failed) or -2 (declined)
  %cb = load ptr, ptr @rt_precompile_py, align 8
  %nocb = icmp eq ptr %cb, null
  br i1 %nocb, label %python, label %lean_call
lean_call:
  %used = call i64 %cb(ptr %ctx, i64 %addr, i64 %child, i64 %io, i64 %in_size)
  %declined = icmp eq i64 %used, -2
  br i1 %declined, label %python, label %lean_ran
lean_ran:
  %failed = icmp slt i64 %used, 0
  br i1 %failed, label %fail, label %lean_ok
lean_ok:
  %lg = add i64 %g1, %child
  %lg2 = sub i64 %lg, %used
  br label %out
out:
  ; min(out_size, return data) bytes of the output to memory; the caller's new gas
  %gnew = phi i64 [ %g3, %result ], [ %lg2, %lean_ok ]
  %rd = load ptr, ptr %rpp, align 8
  %rdn = load i64, ptr %rlp, align 8
  %mem2 = load ptr, ptr %mpp, align 8
  %n = call i64 @llvm.umin.i64(i64 %out_size, i64 %rdn)
  %hasout = icmp ne i64 %n, 0
  %oo = select i1 %hasout, i64 %out_off, i64 0
  %outp = getelementptr i8, ptr %mem2, i64 %oo
  call void @llvm.memcpy.p0.p0.i64(ptr %outp, ptr %rd, i64 %n, i1 false)
  store i64 %gnew, ptr %gp, align 8
  ret i64 1
python:
  ret i64 2
}
"""

_FIELDS = {"PC_MASK": L.PC_MASK, "FRAME": L.FRAME, "RDBUF_PTR": L.RDBUF_PTR, "RDBUF_CAP": L.RDBUF_CAP,
           "RD_PTR": L.RD_PTR, "RD_LEN": L.RD_LEN, "MEM_PTR": L.MEM_PTR, "GAS": L.GAS}


def sha256_ir() -> str:
    text = SHA256_IR.replace("INIT", _INIT).replace("FINAL", _FINAL)
    return L.fill(text, _FIELDS) + "\n" + _block_ir()
