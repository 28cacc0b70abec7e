"""MLIR code generation: one `func.func @evm_<key>(ptr ctx) -> i64` per contract.

The Emitter owns the function being built and the per-block state; the opcode handlers live in
modules named after the interpreter's categories (arithmetic, bitwise, comparison, control_flow,
environment, block, keccak, log, memory, stack, storage, system) and register themselves in
HANDLERS.

Design (see docs/compiler.md):
* the EVM stack is a function-local `alloca [1024 x i256]`; a block whose entry height is known
  at compile time addresses its slots at constant indices (so LLVM's SROA/mem2reg keeps them in
  registers), a block entered at a run-time height uses `sp + k`;
* inside a block the stack is virtual: values live as SSA values and only the slots that changed
  are stored when the block is left;
* static gas and stack bounds are checked once on block entry (compile-time bounds for blocks of
  known height);
* the gas counter and the run-time stack height are function-local variables (registers after
  mem2reg); the gas is written back to the context before host calls and on exit.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias, cast

from mlir import ir
from mlir.dialects import arith, cf, func, llvm

from ...opcodes import BY_NAME
from .. import layout as L
from ..analysis import DYNAMIC, STACK_LIMIT, Analysis, Block, Instr, Segment, first_stack_fault
from ..opinfo import OUTLINED, TERMINAL, OpInfo, oplib_symbol

if TYPE_CHECKING:
    from ...spec import Fork

KDYN = -2147483648  # llvm.getelementptr dynamic index marker
SLOT_OPS = frozenset((0x54, 0x55, 0x5C, 0x5D))  # SLOAD SSTORE TLOAD TSTORE: use the slot cache
# reads served from the slot cache after their first host call (Emitter.cached_query), by cache kind
QUERY_KIND = {
    BY_NAME[name]: kind
    for name, kind in (
        ("BALANCE", L.K_BALANCE),
        ("SELFBALANCE", L.K_BALANCE),
        ("EXTCODESIZE", L.K_CODESIZE),
        ("EXTCODEHASH", L.K_CODEHASH),
        ("BLOCKHASH", L.K_BLOCKHASH),
        ("BLOBHASH", L.K_BLOBHASH),
    )
}
CACHE_OPS = SLOT_OPS | frozenset(QUERY_KIND)
# words that cannot change during a frame: ADDRESS ORIGIN CALLER CALLVALUE GASPRICE COINBASE TIMESTAMP
# NUMBER PREVRANDAO GASLIMIT CHAINID BASEFEE BLOBBASEFEE (SELFBALANCE can: calls move value)
FRAME_WORDS_ORDER = (0x30, 0x32, 0x33, 0x34, 0x3A, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x48, 0x4A)
FRAME_WORDS = frozenset(FRAME_WORDS_ORDER)
MASK256 = (1 << 256) - 1

Handler: TypeAlias = "Callable[[Emitter, Instr], None]"
HANDLERS: dict[int, Handler] = {}


def handler(*names: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of the opcodes named (evm/opcodes.py)."""

    def deco(fn: Handler) -> Handler:
        for name in names:
            HANDLERS[BY_NAME[name]] = fn
        return fn

    return deco


def binary(build: Callable[[ir.Value, ir.Value], ir.Value]) -> Handler:
    """Handler of a two-operand opcode that is one MLIR operation on (top, second)."""

    def fn(em: Emitter, ins: Instr) -> None:
        a, b = em.pop(), em.pop()
        em.push(build(a, b))

    return fn


def lanewise(
    inline: Handler, build: Callable[[Emitter, ir.Value, ir.Value], ir.Value], fold: Callable[[int, int], int]
) -> Handler:
    """Handler of a two-operand opcode that the compact tier keeps inline: `inline` in the full and cheap
    tiers; in the compact tier `build` on the two words as <4 x i64> (top, second), or `fold` on their
    values when both are constants."""

    def fn(em: Emitter, ins: Instr) -> None:
        if not em.compact:
            inline(em, ins)
            return
        a, b = em.pop(), em.pop()
        if type(a) is KWord and type(b) is KWord:
            em.push(KWord(fold(a.value, b.value)))
        else:
            em.push(build(em, em.vec(a), em.vec(b)))

    return fn


P = arith.CmpIPredicate


# Pure instructions the compact tier computes at compile time when their operands are constants
# (EXP is not: its gas depends on the exponent).
FOLDABLE = frozenset((*range(0x01, 0x0A), 0x0B, *range(0x10, 0x1F)))


class KWord:
    """A constant stack word of the compact tier (see Emitter.word)."""

    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value


# A stack word while a block is built: an MLIR value, or a compact-tier constant.
Word: TypeAlias = "ir.Value | KWord"


class _FoldFrame:
    """The part of an interpreter frame a pure instruction touches: its stack."""

    __slots__ = ("stack",)

    def __init__(self, stack: list[int]) -> None:
        self.stack = stack


def interpreter_instructions() -> dict[int, Callable[[_FoldFrame], None]]:
    """The interpreter's instruction functions, for the pure ones (FOLDABLE), which touch only the
    frame's stack: a _FoldFrame stands for the frame."""
    from ...interpreter import INSTRUCTIONS

    return cast("dict[int, Callable[[_FoldFrame], None]]", INSTRUCTIONS)


class LazyBlocks:
    """The MLIR block of each analysis block, created when something first branches to it, so that
    no block is left without predecessors (MLIR's dialect conversion skips unreachable blocks,
    and a block whose predecessors all halt at compile time is one). `idx in blocks`: the block
    can be entered (it has an entry height)."""

    def __init__(self, em: Emitter) -> None:
        self.em = em
        self.made: dict[int, ir.Block] = {}
        self.todo: list[int] = []  # created, not emitted yet (a heap: emitted in code order)

    def __contains__(self, idx: int) -> bool:
        return self.em.an.blocks[idx].height is not None

    def __getitem__(self, idx: int) -> ir.Block:
        blk = self.made.get(idx)
        if blk is None:
            blk = self.made[idx] = self.em.new_block()
            heapq.heappush(self.todo, idx)
        return blk


class Emitter:
    """Builds the native function of one contract (`build`). With `compact`, the instructions of
    OUTLINED are calls into the fork's op library (oplib.py), whose functions the same handlers
    build (`OpLibraryEmitter`)."""

    # MLIR objects (the bindings are untyped) and the state of the function and block being built
    mctx: ir.Context
    module: ir.Module
    _declared: set[str]
    _ip: ir.InsertionPoint | None
    func: func.FuncOp
    entry: ir.Block
    region: ir.Region
    _const_ip: ir.InsertionPoint
    _consts: dict[tuple[int, int], ir.Value]
    _const_of: dict[int, int]
    _errs: dict[int, tuple[ir.Block, int]]
    _slot_ptrs: dict[int, ir.Value]
    _kptrs: dict[int, ir.Value]
    _kbase: ir.Value | None
    _dispatch: ir.Block | None
    _faults: tuple[ir.Block, int] | None
    _runs: dict[int, ir.Block]
    _entry_br: ir.Operation
    gas_dirty: bool
    gas_in_ctx: bool
    ctxp: ir.Value
    stack: ir.Value
    top: ir.Value | None  # op-library function: the first free stack slot
    gas_var: ir.Value
    sp_var: ir.Value
    jt_var: ir.Value
    tmp: ir.Value
    table: ir.Value
    code_ptr: ir.Value
    mblocks: LazyBlocks
    block: Block | None  # the analysis block being built (None in the op library)
    cur: dict[int, Word]  # virtual stack: relative slot -> its word
    orig: dict[int, Word]  # the words as loaded (a slot is stored when its word changed)
    h: int  # stack height relative to the block's entry
    base: int | None  # entry height known at compile time
    sp: ir.Value | None  # else the run-time entry height
    terminated: bool

    def __init__(self, analysis: Analysis | None, fork: Fork, name: str, compact: bool = False) -> None:
        # the op library (analysis None) builds no contract: no code, no blocks
        self.an = analysis if analysis is not None else Analysis(b"", [], {}, False)
        self.fork = fork
        self.name = name
        self.compact = compact
        self.code = self.an.code
        self.n_blocks = 0
        from ..opinfo import op_table

        self.optable: dict[int, OpInfo] = op_table(fork)

    # ------------------------------------------------------------------ building
    def _types(self) -> None:
        self.i256 = ir.IntegerType.get_signless(256)
        self.i512 = ir.IntegerType.get_signless(512)
        self.i64 = ir.IntegerType.get_signless(64)
        self.i32 = ir.IntegerType.get_signless(32)
        self.i8 = ir.IntegerType.get_signless(8)
        self.i1 = ir.IntegerType.get_signless(1)
        self.ptr = llvm.PointerType.get()
        self.stack_ty = ir.Type.parse("!llvm.array<1024 x i256>")
        self.vec4 = ir.VectorType.get([4], self.i64)

    def build(self) -> ir.Module:
        self.mctx = ir.Context()
        with self.mctx, ir.Location.unknown():
            self._types()
            n = max(len(self.code), 1)
            esc = "".join(f"\\{b:02X}" for b in (self.code or b"\0"))
            self.module = ir.Module.parse(
                f'llvm.mlir.global internal constant @code("{esc}") {{addr_space = 0 : i32}} : !llvm.array<{n} x i8>'
            )
            self._declared: set[str] = set()
            self._ip = None
            try:
                self._open_function(self.name, [self.ptr])
                self._prologue()
                self._emit_blocks()
                if self._kptrs:
                    self._emit_constant_table()
            finally:
                if self._ip is not None:
                    self._ip.__exit__(None, None, None)
                    self._ip = None
        return self.module

    def _open_function(self, name: str, arg_types: list[ir.Type]) -> ir.Block:
        """Start `i64 name(arg_types)`: its entry block becomes the insertion point; constants,
        error blocks and slot addresses are per function."""
        with ir.InsertionPoint(self.module.body):
            self.func = func.FuncOp(name, ir.FunctionType.get(arg_types, [self.i64]))
        self.entry = self.func.add_entry_block()
        self.region = self.func.body
        self._consts = {}
        self._const_of = {}  # id(i256 constant value) -> its value
        self._errs = {}
        self._slot_ptrs = {}
        self._kptrs = {}  # compact tier: constant word -> its address in @k
        self._kbase = None
        self._bool_of: dict[int, tuple[ir.Value, ir.Value]] = {}  # compact tier: see vec_bool
        self._dispatch = None
        self._faults = None
        self._runs = {}  # compact tier: block after a JUMPDEST run -> its charge
        self._run_ends: dict[int, tuple[int, int]] = {}  # lone JUMPDEST -> (block after its run, JUMPDESTs to it)
        self.gas_dirty = False
        self.goto(self.entry)
        anchor = arith.ConstantOp(self.i64, ir.IntegerAttr.get(self.i64, 1)).result
        self._const_ip = ir.InsertionPoint(anchor.owner)  # constants go before it
        self._consts[(1, id(self.i64))] = anchor
        return self.entry

    def goto(self, block: ir.Block) -> None:
        if self._ip is not None:
            self._ip.__exit__(None, None, None)
        self._ip = ir.InsertionPoint(block)
        self._ip.__enter__()

    def new_block(self) -> ir.Block:
        self.n_blocks += 1
        return self.region.blocks.append()

    # ------------------------------------------------------------------ constants & context
    def c(self, v: int, t: ir.Type | None = None) -> ir.Value:
        t = t or self.i256
        key = (v, id(t))  # types are the Emitter's own objects (str(t) costs ~5 us)
        r = self._consts.get(key)
        if r is None:
            width = ir.IntegerType(t).width
            v &= (1 << width) - 1
            if width > 1 and v >= 1 << (width - 1):
                v -= 1 << width  # signed spelling
            if width <= 64 or 0 <= v < (1 << 62):
                attr = ir.IntegerAttr.get(t, v)
            else:
                attr = ir.Attribute.parse(f"{v} : {t}")
            r = arith.ConstantOp(t, attr, ip=self._const_ip).result
            self._consts[key] = r
            if width == 256:
                self._const_of[id(r)] = v & MASK256
        return r

    def const_value(self, v: Word | None) -> int | None:
        """The value of a stack word built by word() or c() (a PUSH or a folded constant), else None."""
        if type(v) is KWord:
            return v.value
        return self._const_of.get(id(v))

    def word(self, v: int) -> Word:
        """A constant stack word: an i256 constant, or in the compact tier a KWord (copied from the
        module's constant table when flushed: see `kword_ptr`)."""
        return KWord(v & MASK256) if self.compact else self.c(v)

    # ------------------------------------------------------------------ compact tier: words as <4 x i64>
    def vec(self, v: Word) -> ir.Value:
        """Compact tier: a stack word as a <4 x i64> value (a constant is read from the table @k)."""
        if type(v) is KWord:
            return llvm.load(self.vec4, self.kword_ptr(v.value), alignment=8)
        return v

    def vec_splat(self, v: int) -> ir.Value:
        """Compact tier: the <4 x i64> constant whose every lane is `v` (one per function)."""
        key = (v, id(self.vec4))
        r = self._consts.get(key)
        if r is None:
            attr = ir.DenseElementsAttr.get_splat(self.vec4, ir.IntegerAttr.get(self.i64, v))
            r = self._consts[key] = arith.ConstantOp(self.vec4, attr, ip=self._const_ip).result
        return r

    def vec_is_zero(self, v: ir.Value) -> ir.Value:
        """Compact tier: i1, whether the <4 x i64> word is zero (its lanes OR-ed)."""
        return arith.cmpi(P.eq, llvm.intr_vector_reduce_or(self.i64, v), self.c64(0))

    def vec_bool(self, bit: ir.Value) -> ir.Value:
        """Compact tier: an i1 as the word 0 or 1 (<4 x i64>: the low lane). The i1 is remembered, so that
        ISZERO of this word is the negated i1 (`bool_of`), which chains of ISZERO fold away."""
        v = llvm.insertelement(self.vec_splat(0), arith.extui(self.i64, bit), self.c64(0))
        self._bool_of[id(v)] = (v, bit)  # (the word kept alive with it: ids of dead values are reused)
        return v

    def bool_of(self, v: Word) -> ir.Value | None:
        """Compact tier: the i1 a word made by `vec_bool` holds, else None."""
        known = self._bool_of.get(id(v))
        return known[1] if known is not None and known[0] is v else None

    def as_i256(self, v: Word) -> ir.Value:
        """A stack word as an i256 value (the compact tier moves words as <4 x i64>)."""
        if type(v) is KWord:
            return self.c(v.value)
        if self.compact:
            return llvm.bitcast(self.i256, v)
        return v

    def c64(self, v: int) -> ir.Value:
        return self.c(v, self.i64)

    def field(self, off: int) -> ir.Value:
        return llvm.getelementptr(self.ptr, self.ctxp, [], [off], self.i8, 0)

    def ld(self, t: ir.Type, off: int) -> ir.Value:
        return llvm.load(t, self.field(off), alignment=8)

    def st(self, v: ir.Value, off: int) -> None:
        llvm.store(v, self.field(off), alignment=8)

    def code_ref(self) -> tuple[ir.Value, ir.Value]:
        """(pointer, i64 length) of the running contract's code."""
        return self.code_ptr, self.c64(len(self.code))

    def table_fn(self, slot: int) -> ir.Value:
        p = llvm.getelementptr(self.ptr, self.table, [], [slot], self.ptr, 0)
        return llvm.load(self.ptr, p, alignment=8)

    def call_ptr(self, fnptr: ir.Value, args: list[ir.Value], result_type: ir.Type | None = None) -> ir.Value | None:
        if result_type is None:
            llvm.CallOp(None, [fnptr, *args], [], [])  # void
            return None
        return llvm.call(result_type, [fnptr, *args], [], [])

    # ------------------------------------------------------------------ prologue / errors
    def _prologue(self) -> None:
        self.ctxp = self.entry.arguments[0]
        one = self.c64(1)
        self.stack = llvm.alloca(self.ptr, one, self.stack_ty, alignment=32)
        self.top = None
        # the compact tier keeps the counter in the context, where op-library functions update it
        self.gas_in_ctx = self.compact
        self.gas_var = self.field(L.GAS) if self.compact else llvm.alloca(self.ptr, one, self.i64, alignment=8)
        self.sp_var = llvm.alloca(self.ptr, one, self.i64, alignment=8)
        self.jt_var = llvm.alloca(self.ptr, one, self.i256, alignment=32)  # dynamic jump target
        self.tmp = llvm.alloca(self.ptr, one, self.i256, alignment=32)
        self.table = self.ld(self.ptr, L.TABLE)
        if not self.gas_in_ctx:
            llvm.store(self.ld(self.i64, L.GAS), self.gas_var)
        z = self.c64(0)
        for off in (L.MEM_SIZE, L.RET_OFF, L.RET_LEN, L.RD_LEN):
            self.st(z, off)
        # the backend's frame count, kept here rather than by a Python increment per frame
        self.st(arith.addi(self.ld(self.i64, L.FRAMES), self.c64(1)), L.FRAMES)
        llvm.store(z, self.sp_var)
        used = {i.op for b in self.an.blocks for i in b.instrs}
        if (
            used & FRAME_WORDS or BY_NAME["SELFBALANCE"] in used
        ):  # the per-frame cache of environment words starts empty
            # (SELFBALANCE reads ADDRESS from it)
            self.st(z, L.ENV_KNOWN)
        if used & CACHE_OPS:
            # a new slot-cache generation: this frame's table starts empty (runtime_slots.py)
            self.st(arith.addi(self.ld(self.i64, L.ST_GEN), self.c64(1)), L.ST_GEN)
            for off in (L.ST_COUNT, L.ST_NDIRTY, L.REFUND):
                self.st(z, off)
        self.code_ptr = llvm.mlir_addressof(self.ptr, "code")
        if self.compact and 0x39 in used:  # the op library's CODECOPY reads the code from the context
            self.st(self.code_ptr, L.CODE_PTR)
            self.st(self.c64(len(self.code)), L.CODE_LEN)
        self.mblocks = LazyBlocks(self)
        if self.an.blocks:
            self._entry_br = cf.br([], self.mblocks[0])
        else:
            self.exit(L.ST_STOP)

    ERR_FANIN = 16

    @property
    def err_fanin(self) -> int:
        # without IR passes (compact tier) a shared block costs nothing more per predecessor
        return 256 if self.compact else self.ERR_FANIN

    def err(self, code: int) -> ir.Block:
        """A block that halts with status `code`. Each serves at most ERR_FANIN branches: LLVM's
        InstCombine is quadratic in the predecessors of one block (2000 JUMPDESTs sharing one
        out-of-gas block took 30 s to optimise)."""
        ent = self._errs.get(code)
        if ent is None or ent[1] >= self.err_fanin:
            blk = self.new_block()
            with ir.InsertionPoint(blk):
                self.halt(code)
            ent = (blk, 0)
        self._errs[code] = (ent[0], ent[1] + 1)
        return ent[0]

    def halt(self, code: int) -> None:
        """The body of an error block: an error consumes all gas."""
        self.st(self.c64(0), L.GAS)
        func.return_([self.c64(code)])

    def host_failed(self, rc: ir.Value) -> None:
        """A host callback returned status `rc` (gas as it left it in the context): halt with it."""
        func.return_([rc])

    def check(self, bad: ir.Value, code: int) -> None:
        """Continue when `bad` is false, else halt with status `code`."""
        cont = self.new_block()
        cf.cond_br(bad, [], [], self.err(code), cont, branch_weights=[1, 2000])
        self.goto(cont)

    def fail(self, code: int) -> None:
        """Halt with `code` at the end of the block (INVALID, an undefined opcode, a bad static jump)
        or before its first instruction (stack bounds). The gas charged so far is for instructions
        the interpreter would have run first, so a negative counter means it stopped with OutOfGas."""
        self.gas_checkpoint()
        cf.br([], self.err(code))
        self.terminated = True

    def exit(self, code: int) -> None:
        self.gas_checkpoint()
        self.st(llvm.load(self.i64, self.gas_var), L.GAS)
        func.return_([self.c64(code)])
        self.terminated = True

    # ------------------------------------------------------------------ gas
    def gas(self) -> ir.Value:
        return llvm.load(self.i64, self.gas_var)

    def charge(self, amount: int | ir.Value, check: bool = True) -> None:
        """Charge `amount` (int or i64 value); with `check`, halt with OutOfGas below zero.

        Unchecked charges are safe because gas only decreases and every error consumes all gas:
        a negative counter is caught by the next check, and checks happen at every JUMPDEST
        loop head and dynamic jump (so every cycle), before every host call, GAS read and exit
        (`gas_checkpoint`)."""
        if isinstance(amount, int):
            if amount == 0:
                return
            amount = self.c64(amount)
        g = arith.subi(self.gas(), amount)
        if check:
            self.check(arith.cmpi(P.slt, g, self.c64(0)), L.ST_OOG)
            self.gas_dirty = False
        else:
            self.gas_dirty = True
        llvm.store(g, self.gas_var)

    def gas_checkpoint(self) -> None:
        if self.gas_dirty:
            self.check(arith.cmpi(P.slt, self.gas(), self.c64(0)), L.ST_OOG)
            self.gas_dirty = False

    def sync_gas_out(self) -> None:
        if not self.gas_in_ctx:
            self.st(self.gas(), L.GAS)

    def sync_gas_in(self) -> None:
        if not self.gas_in_ctx:
            llvm.store(self.ld(self.i64, L.GAS), self.gas_var)

    # ------------------------------------------------------------------ virtual stack
    def slot(self, rel: int) -> ir.Value:
        if self.top is not None:  # an op-library function: relative to the first free slot
            return llvm.getelementptr(self.ptr, self.top, [], [rel], self.i256, 0)
        if self.base is not None:
            i = self.base + rel
            p = self._slot_ptrs.get(i)
            if p is None:  # one address per slot, computed in the entry block
                with ir.InsertionPoint(self._entry_br):
                    p = llvm.getelementptr(self.ptr, self.stack, [], [0, i], self.stack_ty, 0)
                self._slot_ptrs[i] = p
            return p
        idx = arith.addi(self.sp, self.c64(rel)) if rel else self.sp
        return llvm.getelementptr(self.ptr, self.stack, [idx], [0, KDYN], self.stack_ty, 0)

    def get(self, rel: int) -> Word:
        v = self.cur.get(rel)
        if v is None:
            v = llvm.load(self.vec4 if self.compact else self.i256, self.slot(rel), alignment=32)
            self.cur[rel] = v
            self.orig[rel] = v
        return v

    def pop(self) -> Word:
        self.h -= 1
        return self.get(self.h)

    def push(self, v: Word) -> None:
        self.cur[self.h] = v
        self.h += 1

    def peek(self, k: int) -> Word:  # k = 1 is the top
        return self.get(self.h - k)

    def flush(self) -> None:
        for rel, v in self.cur.items():
            if rel < self.h and self.orig.get(rel) is not v:
                if type(v) is KWord:
                    llvm.intr_memcpy(self.slot(rel), self.kword_ptr(v.value), self.c64(32), False)
                else:
                    llvm.store(v, self.slot(rel), alignment=32)
                self.orig[rel] = v

    def kword_ptr(self, v: int) -> ir.Value:
        """Compact tier: the address of constant `v` in the module's table @k (little-endian words).
        Constant words are copied from there rather than stored as immediates: LLVM dedupes its
        constant pool by a linear search, so thousands of distinct i256 immediates stored to memory
        are quadratic (6000: 7.6 s on an AVX-512 target), and a 32-byte copy is cheap to select."""
        p = self._kptrs.get(v)
        if p is None:
            with ir.InsertionPoint(self._entry_br):
                if self._kbase is None:
                    # the table's address laundered through an empty asm: LLVM can no longer fold it into
                    # each use (one RIP-relative relocation per copied word: 45k in a 24 KB contract,
                    # 43 ms in MCJIT's loader), so every constant is read at base + offset
                    self._kbase = llvm.inline_asm(self.ptr, [llvm.mlir_addressof(self.ptr, "k")], "", "=r,0")
                p = llvm.getelementptr(self.ptr, self._kbase, [], [32 * len(self._kptrs)], self.i8, 0)
            self._kptrs[v] = p
        return p

    def _emit_constant_table(self) -> None:
        data = b"".join(v.to_bytes(32, "little") for v in self._kptrs)
        esc = "".join(f"\\{b:02X}" for b in data)
        tmp = ir.Module.parse(
            f'llvm.mlir.global internal constant @k("{esc}") {{addr_space = 0 : i32}} : !llvm.array<{len(data)} x i8>'
        )
        tmp.body.operations[0].move_before(self.module.body.operations[0])

    def height_value(self) -> ir.Value:
        if self.base is not None:
            return self.c64(self.base + self.h)
        return arith.addi(self.sp, self.c64(self.h)) if self.h else self.sp

    def branch_to(self, idx: int | None) -> None:
        """Leave the current block for analysis block `idx` (None: end of code = STOP).
        The stack must already be flushed."""
        if idx is None or idx not in self.mblocks:
            self.exit(L.ST_STOP)
            return
        if self.an.blocks[idx].height == DYNAMIC:
            llvm.store(self.height_value(), self.sp_var)
        cf.br([], self.mblocks[idx])
        self.terminated = True

    # ------------------------------------------------------------------ conversions
    def to_bool(self, v: ir.Value) -> ir.Value:  # i1 -> i256
        return arith.extui(self.i256, v)

    def u64_or(self, v: ir.Value, code: int) -> ir.Value:
        """i256 -> i64, halting with `code` when it does not fit in 32 bits (memory offsets)."""
        self.check(arith.cmpi(P.ugt, v, self.c(0xFFFFFFFF)), code)
        return arith.trunci(self.i64, v)

    def mem_ptr(self) -> ir.Value:
        return self.ld(self.ptr, L.MEM_PTR)

    def byte_ptr(self, base: ir.Value, off64: ir.Value) -> ir.Value:
        return llvm.getelementptr(self.ptr, base, [off64], [KDYN], self.i8, 0)

    def mem_region(self, off: ir.Value, size: int | ir.Value) -> ir.Value | None:
        """Expand memory to cover [off, off+size) and charge the expansion gas. `size` is an int
        or an i256 value; returns the offset as i64 (only meaningful when size > 0)."""
        if isinstance(size, int):
            if size == 0:
                return None
            o = self.u64_or(off, L.ST_OOG)
            end = arith.addi(o, self.c64(size))
        else:
            nz = arith.cmpi(P.ne, size, self.c(0))
            big = arith.ori(arith.cmpi(P.ugt, off, self.c(0xFFFFFFFF)), arith.cmpi(P.ugt, size, self.c(0xFFFFFFFF)))
            self.check(arith.andi(nz, big), L.ST_OOG)
            o = arith.trunci(self.i64, off)
            s = arith.trunci(self.i64, size)
            end = arith.select(nz, arith.addi(o, s), self.c64(0))
        msize = self.ld(self.i64, L.MEM_SIZE)
        grow = self.new_block()
        cont = self.new_block()
        # Unbiased on purpose: a "cold" grow path is laid out at the end of the function, and in long
        # straight-line code each far jump there and back cost ~17 ns (memory_grow_mstore/by32 108 -> 40 us)
        cf.cond_br(arith.cmpi(P.ugt, end, msize), [], [], grow, cont, branch_weights=[1, 1])
        self.goto(grow)
        g = self.call_ptr(self.table_fn(L.T_MEM_GROW), [self.ctxp, self.gas(), end], self.i64)
        llvm.store(g, self.gas_var)
        ok = self.new_block()
        cf.cond_br(arith.cmpi(P.slt, g, self.c64(0)), [], [], self.err(L.ST_OOG), ok, branch_weights=[1, 2000])
        self.goto(ok)
        cf.br([], cont)
        self.goto(cont)
        return o

    def words(self, size: ir.Value) -> ir.Value:
        """ceil(size / 32) as i64 for a size already known to fit (after mem_region)."""
        s = arith.trunci(self.i64, size)
        return arith.shrui(arith.addi(s, self.c64(31)), self.c64(5))

    def copy_gas(self, size: ir.Value, per_word: int) -> None:
        """Charge per_word * ceil(size/32); sizes >= 2**32 are out of gas anyway."""
        self.check(arith.cmpi(P.ugt, size, self.c(0xFFFFFFFF)), L.ST_OOG)
        self.charge(arith.muli(self.words(size), self.c64(per_word)))

    def bswap(self, v: ir.Value) -> ir.Value:
        return llvm.intr_bswap(v)

    # ------------------------------------------------------------------ host calls
    def scratch(self, i: int) -> ir.Value:
        return llvm.getelementptr(self.ptr, self.ctxp, [], [L.SCRATCH + 32 * i], self.i8, 0)

    def store_scratch(self, i: int, v: ir.Value) -> None:
        llvm.store(v, self.scratch(i), alignment=8)

    def load_scratch(self, i: int) -> ir.Value:
        return llvm.load(self.i256, self.scratch(i), alignment=8)

    def host(self, op: int, args: list[ir.Value], nres: int = 0) -> list[ir.Value]:
        """Call the host callback of `op`: arguments as scratch words, gas synced through the
        context, a non-zero return halts the frame with that status."""
        for i, a in enumerate(args):
            self.store_scratch(i, a)
        self.host_call(op)
        return [self.load_scratch(i) for i in range(nres)]

    def frame_word(self, op: int) -> ir.Value:
        """An environment word constant during the frame: from the host on first use, then from
        the context's copy (ENV_KNOWN, ENV)."""
        i = FRAME_WORDS_ORDER.index(op)
        bit, off = self.c64(1 << i), L.ENV + 32 * i

        def ask_host() -> None:
            self.st(self.host(op, [], 1)[0], off)
            self.st(arith.ori(self.ld(self.i64, L.ENV_KNOWN), bit), L.ENV_KNOWN)

        self.on_miss(arith.cmpi(P.eq, arith.andi(self.ld(self.i64, L.ENV_KNOWN), bit), self.c64(0)), ask_host)
        return self.ld(self.i256, off)

    def cached_query(self, op: int, key: ir.Value) -> ir.Value:
        """The answer to `op` (QUERY_KIND) for `key`: from the frame's slot cache (runtime_slots.py rt_query)
        when an earlier host call of this frame answered it (and warmed the account), else from the host
        callback of `op` (key in word 0, answer in word 1, cold surcharge charged there), then cached."""
        kind = self.c64(QUERY_KIND[op])
        self.store_scratch(0, key)
        hit = self.call_ptr(self.table_fn(L.T_QUERY), [self.ctxp, kind], self.i64)

        def ask_host() -> None:
            self.host_call(op)
            self.call_ptr(self.table_fn(L.T_SINSERT), [self.ctxp, kind])

        self.on_miss(arith.cmpi(P.eq, hit, self.c64(0)), ask_host)
        return self.load_scratch(1)

    def on_miss(self, miss: ir.Value, slow: Callable[[], None]) -> None:
        """Emit `slow` (a host call, typically) on a rarely taken path entered when `miss` is true,
        then continue. The native fast path skips the gas check the host call does, so the pending
        check stays pending after the join."""
        blk, join = self.new_block(), self.new_block()
        cf.cond_br(miss, [], [], blk, join, branch_weights=[1, 100])
        dirty = self.gas_dirty
        self.goto(blk)
        slow()
        cf.br([], join)
        self.goto(join)
        self.gas_dirty = dirty

    def host_call(self, op: int) -> None:
        """The callback of `op` with its arguments already in the scratch words."""
        self.gas_checkpoint()
        self.sync_gas_out()
        rc = self.call_ptr(self.table_fn(L.T_HOST + op), [self.ctxp], self.i64)
        self.sync_gas_in()
        fail = self.new_block()
        cont = self.new_block()
        cf.cond_br(arith.cmpi(P.ne, rc, self.c64(0)), [], [], fail, cont, branch_weights=[1, 2000])
        with ir.InsertionPoint(fail):
            self.host_failed(rc)
        self.goto(cont)

    # ------------------------------------------------------------------ blocks
    def _emit_blocks(self) -> None:
        todo = self.mblocks.todo
        while todo:
            self._emit_block(self.an.blocks[heapq.heappop(todo)])

    def _lone_jumpdest(self, b: Block) -> bool:
        return (
            self.compact
            and len(b.instrs) == 1
            and b.instrs[0].op == 0x5B
            and b.fallthrough is not None
            and b.fallthrough in self.mblocks
        )

    def run_end(self, b: Block) -> tuple[Block, int]:
        """Compact tier: the first block after the run of lone JUMPDESTs that starts at `b`, and
        how many JUMPDESTs lie between (memoised: a flood of 24k JUMPDESTs is walked once)."""
        hit = self._run_ends.get(b.index)
        if hit is not None:
            return self.an.blocks[hit[0]], hit[1]
        path = []
        end = b
        while self._lone_jumpdest(end) and end.index not in self._run_ends:
            path.append(end)
            assert end.fallthrough is not None  # (a lone JUMPDEST falls through)
            end = self.an.blocks[end.fallthrough]
        last, n = (end.index, 0) if end.index not in self._run_ends else self._run_ends[end.index]
        for k, blk in enumerate(reversed(path), 1):
            self._run_ends[blk.index] = (last, n + k)
        hit = self._run_ends.get(b.index, (last, n))
        return self.an.blocks[hit[0]], hit[1]

    def run_block(self, end: Block) -> ir.Block:
        """The block that charges a JUMPDEST run's gas (its i64 argument), checked (a loop may pass
        through it), and enters `end`, the first block after the run."""
        run = self._runs.get(end.index)
        if run is None:
            assert self._ip is not None  # inside a block being built
            here = self._ip.block
            # (built from inside another block: its virtual-stack state is put back after)
            saved = [getattr(self, k, None) for k in ("base", "sp", "h", "cur", "orig")]
            run = self._runs[end.index] = self.region.blocks.append(self.i64)
            self.n_blocks += 1
            self.goto(run)
            self.charge(run.arguments[0])
            self.base, self.sp, self.h = (None, None, 0) if end.height == DYNAMIC else (end.height, None, 0)
            self.cur, self.orig = {}, {}
            cf.br([], self.mblocks[end.index])
            self.goto(here)
            for k, v in zip(("base", "sp", "h", "cur", "orig"), saved):
                setattr(self, k, v)
        return run

    def _emit_jumpdest_run(self, b: Block) -> None:
        """Compact tier: a block that is a lone JUMPDEST falling through (a JUMPDEST flood) only
        passes its share of the run's gas to the run's block (`run_block`). A dynamic jump into
        a run goes there directly (control_flow.dispatch_block), so a flood costs no block per
        JUMPDEST."""
        end, n = self.run_end(b)
        cf.br([self.c64(n * self.optable[0x5B].gas)], self.run_block(end))

    def _emit_block(self, b: Block) -> None:
        self.goto(self.mblocks[b.index])
        if self._lone_jumpdest(b):
            self._emit_jumpdest_run(b)
            return
        self.block = b
        self.cur = {}
        self.orig = {}
        self.h = 0
        self.terminated = False
        if b.height == DYNAMIC:
            self.base = None
            self.sp = llvm.load(self.i64, self.sp_var)
        else:
            self.base = b.height
            self.sp = None
        self.gas_dirty = True  # predecessors' charges may be unchecked
        guarded = (0, STACK_LIMIT)  # entry heights a run-time guard of this block already admits
        run = 0
        for k, seg in enumerate(b.segments):
            if self.base is not None:
                fault = first_stack_fault(seg, b.instrs, self.optable, self.base + seg.rel)
                if fault is not None:
                    # the pure instructions before the faulting one run first: out of gas wins
                    # when they exhaust the gas
                    i, underflow = fault
                    self.charge(sum(self.optable[ins.op].gas for ins in b.instrs[seg.first : i]), check=False)
                    self.fail(L.ST_UNDERFLOW if underflow else L.ST_OVERFLOW)
                    return
            else:
                guarded = self.stack_guard(b, seg, guarded)
            last = b.instrs[seg.end - 1].op
            outlined = self.compact and last in OUTLINED and last in self.optable
            if not outlined:  # (an op-library function charges its segment itself, checked)
                # Only a cycle could run forever on a negative counter: cycles pass through the target
                # of a static backward jump (checked here) or through a dynamic jump (checked there).
                self.charge(seg.gas, check=b.loop_head and k == 0)
            for ins in b.instrs[seg.first : seg.end]:
                h = HANDLERS.get(ins.op)
                if h is None or ins.op not in self.optable:
                    self.fail(L.ST_INVALID)
                    return
                run += 1
                if self.compact and run % self.SPLIT_EVERY == 0:
                    # LLVM's fast register allocator is superlinear in the size of one basic block
                    # (24k calls: 0.9 s in one, 0.5 s in blocks of 64); a gas check ends the block
                    # where a plain branch would be merged away by the canonicalizer
                    self.check(arith.cmpi(P.slt, self.gas(), self.c64(0)), L.ST_OOG)
                if outlined and ins is b.instrs[seg.end - 1]:
                    if self.fold(ins):  # constant operands: no call, so the segment is charged here
                        self.charge(seg.gas, check=b.loop_head and k == 0)
                    else:
                        self.call_op(ins, seg.gas)
                        if b.loop_head and k == 0 and not self.terminated:
                            # the callee's check stops nothing here (its status is not tested):
                            # a cycle must pass a check of the caller's
                            self.check(arith.cmpi(P.slt, self.gas(), self.c64(0)), L.ST_OOG)
                else:
                    h(self, ins)
                if self.terminated:
                    return
        self.flush()
        self.branch_to(b.fallthrough)

    def fold(self, ins: Instr) -> bool:
        """Compact tier: compute a pure instruction whose operands are all compile-time constants
        (PUSH values, folded results) with the interpreter's own function, instead of calling the
        op library (`PC PUSH1 6 ADD JUMP` then jumps to a known block)."""
        if ins.op not in FOLDABLE:
            return False
        info = self.optable[ins.op]
        vals = [self.const_value(self.cur.get(self.h - k)) for k in range(info.pops, 0, -1)]
        known = [v for v in vals if v is not None]
        if len(known) < len(vals):
            return False
        frame = _FoldFrame(known)
        interpreter_instructions()[ins.op](frame)
        self.h -= info.pops
        for v in frame.stack:
            self.push(self.word(v))
        return True

    def call_op(self, ins: Instr, static_gas: int) -> None:
        """Compact tier: run `ins` by calling its op-library function (oplib.py) with a pointer to
        the first free stack slot (operands below it are in memory) and the static gas of its
        segment. The status of a non-terminal instruction is not tested here: a function that
        halts leaves the counter negative (and its error in HALT), so the next gas check stops the
        frame, and every later op-library call returns at once."""
        info = self.optable[ins.op]
        self.flush()
        sym = oplib_symbol(ins.op, self.fork)
        if sym not in self._declared:
            self._declared.add(sym)
            with ir.InsertionPoint(self.module.body):
                func.FuncOp(sym, ir.FunctionType.get([self.ptr, self.ptr, self.i64], [self.i64]), visibility="private")
        rc = func.CallOp(
            [self.i64], ir.FlatSymbolRefAttr.get(sym), [self.ctxp, self.slot(self.h), self.c64(static_gas)]
        ).result
        # the callee read its operands from memory and wrote its results there
        keep = self.h - info.pops
        for rel in [r for r in self.cur if r >= keep]:
            del self.cur[rel]
            self.orig.pop(rel, None)
        self.h = keep + info.pushes
        self.gas_dirty = True
        if ins.op in TERMINAL:
            func.return_([rc])
            self.terminated = True

    SPLIT_EVERY = 64  # compact tier: instructions per basic block at most

    def stack_guard(self, b: Block, seg: Segment, guarded: tuple[int, int]) -> tuple[int, int]:
        """Run-time stack bounds of a segment of a block entered at a run-time height: halt with
        ST_STACK_FAULT when they fail (the backend names the error, `stack_fault_error`). Bounds
        an earlier segment of the block already guarantees are not tested again. Returns the entry
        heights admitted from here on."""
        lo, hi = guarded
        need, cap = seg.need - seg.rel, STACK_LIMIT - seg.rel - seg.peak
        bad = []
        if need > lo:
            bad.append(arith.cmpi(P.ult, self.sp, self.c64(need)))
        if cap < hi:
            bad.append(arith.cmpi(P.sgt, self.sp, self.c64(cap)))
        if not bad:
            return guarded
        cont = self.new_block()
        cf.cond_br(
            bad[0] if len(bad) == 1 else arith.ori(*bad),
            [self.c64(b.instrs[seg.first].pc), self.height_value()],
            [],
            self._fault_block(),
            cont,
            branch_weights=[1, 2000],
        )
        self.goto(cont)
        return max(lo, need), min(hi, cap)

    def _fault_block(self) -> ir.Block:
        """A block (pc, height) that halts with ST_STACK_FAULT (shared by ERR_FANIN guards)."""
        ent = self._faults
        if ent is None or ent[1] >= self.err_fanin:
            blk = self.region.blocks.append(self.i64, self.i64)
            self.n_blocks += 1
            with ir.InsertionPoint(blk):
                self.st(blk.arguments[0], L.FAULT_PC)
                self.st(blk.arguments[1], L.FAULT_H)
                self.sync_gas_out()
                func.return_([self.c64(L.ST_STACK_FAULT)])
            ent = (blk, 0)
        self._faults = (ent[0], ent[1] + 1)
        return ent[0]


def _load_handlers() -> None:
    from . import (  # noqa: F401
        arithmetic,
        bitwise,
        block,
        comparison,
        control_flow,
        environment,
        keccak,
        log,
        memory,
        stack,
        storage,
        system,
    )


_load_handlers()
