"""Native runtime of the compiled backend: one LLVM module (written here as LLVM IR text) compiled
once per process with llvmlite, plus the JIT that loads compiled contracts as object files.

The runtime holds the pure hot work the generated code calls through the function table of its
frame context (so compiled contracts contain no absolute address of this process):

* ``rt_mem_grow(ctx, gas, new_end) -> gas'``: memory expansion gas + growth (realloc, zero fill),
  returns a negative number when out of gas;
* ``rt_keccak(data, len, out)``: Keccak-256 (24-round Keccak-f[1600], unrolled);
* ``rt_exp(base, exponent) -> i256``: square-and-multiply;
* ``rt_copy(dst, src, src_len, src_off, n)``: copy with zero padding past the end of the source
  (CALLDATACOPY, CODECOPY, CALLDATALOAD past the end, EXTCODECOPY...);
* ``rt_sha256`` and ``rt_precompile`` (CALL* to a precompile): runtime_sha256.py, with libcrypto's
  digests and the Python callback for the other precompiles bound at load (precompile_calls.py).
"""
from __future__ import annotations

import hashlib
import re
import threading

import llvmlite.binding as llvm

from . import layout as L
from .runtime_slots import SLOT_FUNCTIONS, slots_ir

_RC = [
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
]
_ROT = [  # _ROT[x][y]
    [0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56], [27, 20, 39, 8, 14],
]


def _keccak_f_ir() -> str:
    out = ["define internal void @keccak_f(ptr %s) alwaysinline {"]
    n = [0]

    def tmp() -> str:
        n[0] += 1
        return f"%t{n[0]}"

    A = []
    for i in range(25):
        p = tmp()
        out.append(f"  {p} = getelementptr i64, ptr %s, i64 {i}")
        v = tmp()
        out.append(f"  {v} = load i64, ptr {p}, align 8")
        A.append(v)

    def op(kind: str, a: str, b: str) -> str:
        r = tmp()
        out.append(f"  {r} = {kind} i64 {a}, {b}")
        return r

    def rotl(a: str, k: int) -> str:
        if k == 0:
            return a
        r = tmp()
        out.append(f"  {r} = call i64 @llvm.fshl.i64(i64 {a}, i64 {a}, i64 {k})")
        return r

    for rnd in range(24):
        C = []
        for x in range(5):
            c = A[x]
            for y in range(1, 5):
                c = op("xor", c, A[x + 5 * y])
            C.append(c)
        D = [op("xor", C[(x - 1) % 5], rotl(C[(x + 1) % 5], 1)) for x in range(5)]
        A = [op("xor", A[i], D[i % 5]) for i in range(25)]
        B = [None] * 25
        for x in range(5):
            for y in range(5):
                B[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(A[x + 5 * y], _ROT[x][y])
        A = []
        for i in range(25):
            x, y = i % 5, i // 5
            nb = op("xor", B[(x + 1) % 5 + 5 * y], "-1")
            a = op("and", nb, B[(x + 2) % 5 + 5 * y])
            A.append(op("xor", B[i], a))
        rc = _RC[rnd] - (1 << 64) if _RC[rnd] >= 1 << 63 else _RC[rnd]
        A[0] = op("xor", A[0], str(rc))
    for i in range(25):
        p = tmp()
        out.append(f"  {p} = getelementptr i64, ptr %s, i64 {i}")
        out.append(f"  store i64 {A[i]}, ptr {p}, align 8")
    out.append("  ret void\n}")
    return "\n".join(out)


def _absorb_ir() -> str:
    lines = ["define internal void @absorb(ptr %s, ptr %d) alwaysinline {"]
    for i in range(17):
        lines += [
            f"  %sp{i} = getelementptr i64, ptr %s, i64 {i}",
            f"  %dp{i} = getelementptr i8, ptr %d, i64 {8 * i}",
            f"  %sv{i} = load i64, ptr %sp{i}, align 8",
            f"  %dv{i} = load i64, ptr %dp{i}, align 1",
            f"  %x{i} = xor i64 %sv{i}, %dv{i}",
            f"  store i64 %x{i}, ptr %sp{i}, align 8",
        ]
    lines.append("  ret void\n}")
    return "\n".join(lines)


RUNTIME_IR = r"""
declare ptr @realloc(ptr, i64)
declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)
declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)
declare i64 @llvm.fshl.i64(i64, i64, i64)
declare i64 @llvm.umax.i64(i64, i64)
declare i64 @llvm.umin.i64(i64, i64)

; the buffer whose address is at ctx+%pf and capacity at ctx+%cf, grown (realloc, doubling, at least
; %min bytes) to hold %need bytes: its address, or null when realloc fails (the old one stays valid)
define internal ptr @buf_reserve(ptr %ctx, i64 %pf, i64 %cf, i64 %need, i64 %min) alwaysinline {
entry:
  %pp = getelementptr i8, ptr %ctx, i64 %pf
  %cp = getelementptr i8, ptr %ctx, i64 %cf
  %buf = load ptr, ptr %pp, align 8
  %cap = load i64, ptr %cp, align 8
  %grow = icmp ugt i64 %need, %cap
  br i1 %grow, label %realloc, label %done
realloc:
  %c2 = shl i64 %cap, 1
  %c3 = call i64 @llvm.umax.i64(i64 %c2, i64 %need)
  %c4 = call i64 @llvm.umax.i64(i64 %c3, i64 %min)
  %nb = call ptr @realloc(ptr %buf, i64 %c4)
  %ok = icmp ne ptr %nb, null
  br i1 %ok, label %grown, label %fail
grown:
  store ptr %nb, ptr %pp, align 8
  store i64 %c4, ptr %cp, align 8
  ret ptr %nb
done:
  ret ptr %buf
fail:
  ret ptr null
}

define i64 @rt_mem_grow(ptr %ctx, i64 %gas, i64 %end) {
entry:
  %a = add i64 %end, 31
  %newsize = and i64 %a, -32
  %msp = getelementptr i8, ptr %ctx, i64 MEM_SIZE
  %msize = load i64, ptr %msp, align 8
  %grow = icmp ugt i64 %newsize, %msize
  br i1 %grow, label %charge, label %done
charge:
  %wn = lshr i64 %newsize, 5
  %wo = lshr i64 %msize, 5
  %wn2 = mul i64 %wn, %wn
  %qn = lshr i64 %wn2, 9
  %ln = mul i64 %wn, 3
  %cn = add i64 %qn, %ln
  %wo2 = mul i64 %wo, %wo
  %qo = lshr i64 %wo2, 9
  %lo = mul i64 %wo, 3
  %co = add i64 %qo, %lo
  %cost = sub i64 %cn, %co
  %g2 = sub i64 %gas, %cost
  %oog = icmp slt i64 %g2, 0
  br i1 %oog, label %fail, label %cap
cap:
  %p = call ptr @buf_reserve(ptr %ctx, i64 MEM_PTR, i64 MEM_CAP, i64 %newsize, i64 4096)
  %nomem = icmp eq ptr %p, null
  br i1 %nomem, label %fail, label %zero
zero:
  %dst = getelementptr i8, ptr %p, i64 %msize
  %len = sub i64 %newsize, %msize
  call void @llvm.memset.p0.i64(ptr %dst, i8 0, i64 %len, i1 false)
  store i64 %newsize, ptr %msp, align 8
  ret i64 %g2
done:
  ret i64 %gas
fail:
  ret i64 -1
}

define i256 @rt_exp(i256 %base, i256 %exp) {
entry:
  br label %loop
loop:
  %r = phi i256 [ 1, %entry ], [ %r2, %next ]
  %b = phi i256 [ %base, %entry ], [ %b2, %next ]
  %e = phi i256 [ %exp, %entry ], [ %e2, %next ]
  %z = icmp eq i256 %e, 0
  br i1 %z, label %out, label %body
body:
  %bit = trunc i256 %e to i1
  %m = mul i256 %r, %b
  %r2 = select i1 %bit, i256 %m, i256 %r
  %b2 = mul i256 %b, %b
  %e2 = lshr i256 %e, 1
  br label %next
next:
  br label %loop
out:
  ret i256 %r
}

define void @rt_copy(ptr %dst, ptr %src, i64 %srclen, i256 %off, i64 %n) {
entry:
  %sl = zext i64 %srclen to i256
  %past = icmp uge i256 %off, %sl
  br i1 %past, label %zeros, label %part
zeros:
  call void @llvm.memset.p0.i64(ptr %dst, i8 0, i64 %n, i1 false)
  ret void
part:
  %o = trunc i256 %off to i64
  %avail = sub i64 %srclen, %o
  %k = call i64 @llvm.umin.i64(i64 %avail, i64 %n)
  %s = getelementptr i8, ptr %src, i64 %o
  call void @llvm.memcpy.p0.p0.i64(ptr %dst, ptr %s, i64 %k, i1 false)
  %d2 = getelementptr i8, ptr %dst, i64 %k
  %rest = sub i64 %n, %k
  call void @llvm.memset.p0.i64(ptr %d2, i8 0, i64 %rest, i1 false)
  ret void
}

define void @rt_keccak(ptr %data, i64 %len, ptr %out) {
entry:
  %st = alloca [25 x i64], align 8
  %buf = alloca [136 x i8], align 8
  call void @llvm.memset.p0.i64(ptr %st, i8 0, i64 200, i1 false)
  br label %loop
loop:
  %p = phi ptr [ %data, %entry ], [ %p2, %blk ]
  %l = phi i64 [ %len, %entry ], [ %l2, %blk ]
  %full = icmp uge i64 %l, 136
  br i1 %full, label %blk, label %last
blk:
  call void @absorb(ptr %st, ptr %p)
  call void @keccak_f(ptr %st)
  %p2 = getelementptr i8, ptr %p, i64 136
  %l2 = sub i64 %l, 136
  br label %loop
last:
  call void @llvm.memset.p0.i64(ptr %buf, i8 0, i64 136, i1 false)
  call void @llvm.memcpy.p0.p0.i64(ptr %buf, ptr %p, i64 %l, i1 false)
  %pp = getelementptr i8, ptr %buf, i64 %l
  %pv = load i8, ptr %pp
  %pv2 = xor i8 %pv, 1
  store i8 %pv2, ptr %pp
  %ep = getelementptr i8, ptr %buf, i64 135
  %ev = load i8, ptr %ep
  %ev2 = xor i8 %ev, -128
  store i8 %ev2, ptr %ep
  call void @absorb(ptr %st, ptr %buf)
  call void @keccak_f(ptr %st)
  call void @llvm.memcpy.p0.p0.i64(ptr %out, ptr %st, i64 32, i1 false)
  ret void
}
"""
RUNTIME_IR = L.fill(RUNTIME_IR, {"MIN256": -(1 << 255), "MEM_SIZE": L.MEM_SIZE, "MEM_CAP": L.MEM_CAP,
                                 "MEM_PTR": L.MEM_PTR})


RUNTIME_FUNCTIONS = ("rt_mem_grow", "rt_keccak", "rt_exp", "rt_copy", "rt_udiv", "rt_umod", "rt_sdiv",
                     "rt_smod", "rt_addmod", "rt_mulmod", "rt_sha256", "rt_precompile", *SLOT_FUNCTIONS)
UNROLL_OPTIONS = ("-unroll-runtime", "-unroll-runtime-multi-exit")
_lock = threading.Lock()
_OPLIB_REF = re.compile(rb"evmop_[A-Z0-9]+_([0-9]+)")


def runtime_ir() -> str:
    from .runtime_div import DIV_IR_GENERIC, DIV_IR_X86_64
    from .runtime_sha256 import sha256_ir
    div = DIV_IR_X86_64 if llvm.get_default_triple().startswith("x86_64") else DIV_IR_GENERIC
    return RUNTIME_IR + "\n" + div + "\n" + _keccak_f_ir() + "\n" + _absorb_ir() + "\n" + sha256_ir() + "\n" + slots_ir()


_jit: "Jit | None" = None


class Jit:
    """One MCJIT engine per process: the runtime module, then every contract object file."""

    def __init__(self) -> None:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        llvm.initialize_native_asmparser()  # the runtime's 128/64 division is inline asm (x86-64 DIV)
        # EVM loops have several exits (gas, stack, the loop test): let LLVM unroll them with
        # run-time trip counts anyway (fibonacci: 1.75 -> 0.77 us per call).
        for opt in UNROLL_OPTIONS:
            llvm.set_option("", opt)
        target = llvm.Target.from_default_triple()
        cpu, features = llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()
        self.tm = target.create_target_machine(cpu=cpu, features=features, opt=3, codemodel="default",
                                               reloc="pic", jit=False)
        # large contracts: instruction selection of i256 code at O1+ is superlinear (weierstrudel,
        # 14 KB: 11 s at O1 vs 0.9 s at O0 after the same IR optimisation)
        self.tm_fast = target.create_target_machine(cpu=cpu, features=features, opt=0, codemodel="default",
                                                    reloc="pic", jit=False)
        self._objects: list = []
        self._oplibs: set[int] = set()
        self.engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), self.tm)
        self._add_object(self._runtime_object())
        self.runtime = {name: self.engine.get_function_address(name)
                        for name in RUNTIME_FUNCTIONS}
        from .precompile_calls import bind

        self.digests = bind(self.engine)  # {"sha256"/"ripemd160": address} of libcrypto's, those found

    def _runtime_object(self) -> bytes:
        """The runtime module's object file, from the disk cache when present (compiling the
        unrolled Keccak takes ~1.5 s)."""
        from .cache import DiskCache
        text = runtime_ir()
        digest = hashlib.sha256(text.encode()).digest()
        disk = DiskCache()
        obj = disk.load("runtime", digest)
        if obj is None:
            obj = self.compile_ir(text, 3)
            disk.store("runtime", digest, 0, obj)
        return obj

    def _add_object(self, obj: bytes) -> None:
        ref = llvm.ObjectFileRef.from_data(obj)
        self._objects.append(ref)
        self.engine.add_object_file(ref)
        self.engine.finalize_object()

    def optimize(self, mod, level: int) -> None:
        pto = llvm.create_pipeline_tuning_options(speed_level=level)
        pb = llvm.create_pass_builder(self.tm, pto)
        pb.getModulePassManager().run(mod, pb)

    def compile_ir(self, ir_text: str, level: int = 3, tier: str = "full") -> bytes:
        """LLVM IR text -> object file bytes. Tiers (compile.choose_tier): "full" (the O`level`
        pipeline, optimising instruction selection), "cheap" (SROA + InstCombine + SimplifyCFG,
        the fast instruction selector), "compact" (no IR passes, the fast instruction selector:
        linear in the size of the code)."""
        mod = llvm.parse_assembly(ir_text)
        mod.verify()
        if tier == "full":
            self.optimize(mod, level)
            return self.tm.emit_object(mod)
        if tier == "cheap":
            pto = llvm.create_pipeline_tuning_options(speed_level=1)
            pb = llvm.create_pass_builder(self.tm, pto)
            fpm = llvm.create_new_function_pass_manager()
            fpm.add_sroa_pass()
            fpm.add_instruction_combine_pass()
            fpm.add_simplify_cfg_pass()
            for f in mod.functions:
                if not f.is_declaration:
                    fpm.run(f, pb)
        elif tier != "compact":
            raise ValueError(f"unknown compile tier {tier!r}")
        return self.tm_fast.emit_object(mod)

    def ensure_oplib(self, fork: int) -> None:
        """Load the op library of `fork` (oplib.py) into the engine: from the disk cache, else
        compiled (~0.4 s) and stored there."""
        if fork in self._oplibs:
            return
        from .cache import DiskCache
        disk = DiskCache()
        key = f"oplib_{fork}"
        # the op library is built from the sources the cache version covers: its name and fork
        # identify it
        digest = hashlib.sha256(key.encode()).digest()
        obj = disk.load(key, digest, fork)
        if obj is None:
            from ..spec import Fork
            from .oplib import oplib_ir
            obj = self.compile_ir(oplib_ir(Fork(fork)), 3)
            disk.store(key, digest, fork, obj)
        with _lock:
            if fork not in self._oplibs:
                self._add_object(obj)
                self._oplibs.add(fork)

    def load_object(self, obj: bytes, symbol: str) -> int:
        for fork in {int(m) for m in _OPLIB_REF.findall(obj)}:  # compact-tier code calls the op library
            self.ensure_oplib(fork)
        with _lock:
            self._add_object(obj)
            addr = self.engine.get_function_address(symbol)
        if not addr:
            raise RuntimeError(f"symbol {symbol} not found in compiled object")
        return addr


def get_jit() -> Jit:
    global _jit
    if _jit is None:
        with _lock:
            if _jit is None:
                _jit = Jit()
    return _jit
