"""Byte layout of the frame context shared by the generated code (codegen), the runtime's LLVM IR
(through `fill`) and Python (context.py).

All fields are 8 bytes. The scratch area carries host-call arguments and results as 32-byte
little-endian words (the native i256 layout)."""

GAS = 0  # i64: gas left (in: message gas; out: gas left); stored before host calls
CD_PTR = 8  # ptr: calldata
CD_LEN = 16  # i64
MEM_PTR = 24  # ptr: memory buffer (owned by the context, reused across frames)
MEM_SIZE = 32  # i64: current memory size in bytes (multiple of 32)
MEM_CAP = 40  # i64: capacity of the buffer
RET_OFF = 48  # i64: RETURN/REVERT output offset in memory
RET_LEN = 56  # i64: output length
RD_PTR = 64  # ptr: return data of the last call (owned by Python)
RD_LEN = 72  # i64
TABLE = 80  # ptr: function table
FRAME = 88  # i64: call depth of the frame (the context's pool index)
# Slot cache (see docs/compiler.md, "Native storage"): warm storage and transient-storage slots of
# the running frame, served and written without calling Python; written back at frame exit and
# before calls (hostcalls.flush_slots), dropped on revert.
ST_TABLE = 96  # ptr: ST_CAP entries of ST_ENTRY bytes (open addressing)
ST_GEN = 104  # i64: generation; an entry is live iff its gen equals this
ST_COUNT = 112  # i64: live entries
ST_NDIRTY = 120  # i64: entries written natively since the last write-back
ST_DIRTY = 128  # ptr: i64 indices of those entries
REFUND = 136  # i64: refund delta of native SSTOREs (signed) since the last write-back
STATIC = 144  # i64: 1 in a static frame
PC_MASK = 152  # i64: bit i set = precompile i may be run natively by CALL/STATICCALL
RDBUF_PTR = 160  # ptr: native return-data buffer (owned by the context)
RDBUF_CAP = 168  # i64
# Log buffer (runtime_slots.py rt_log): LOGs of the running frame, written back with the slots.
# Record: i64 topic count, i64 data length, topics (32-byte little-endian words), data.
LOG_PTR = 176  # ptr (realloc'd by the runtime)
LOG_LEN = 184  # i64: bytes of pending records
LOG_CAP = 192  # i64
# A failed stack guard (codegen `stack_guard`): where its segment starts; the backend works out from
# there which error the interpreter reports (backend.stack_fault_error).
FAULT_PC = 200  # i64: pc of the segment's first instruction
FAULT_H = 208  # i64: stack height at that point
# Environment words that cannot change during a frame, asked from the host once per frame: bit i of
# ENV_KNOWN set = word i (codegen FRAME_WORDS order) is in ENV + 32*i (cleared by the prologue).
ENV_KNOWN = 216  # i64
# The running contract's code, for the op library's CODECOPY (compact tier; see oplib.py).
CODE_PTR = 224  # ptr
CODE_LEN = 232  # i64
# Compact tier: the error an op-library function halted with (the frame stops at its next gas check,
# the function having made the counter negative); read and cleared by the backend.
HALT = 240  # i64: status, 0 = none
POISON = -(1 << 62)  # the counter after such a halt (stays negative whatever is charged after it)
# A cold storage slot is fetched by the runtime itself (ir/pyapi.ll py_touch), calling the Host's
# `touch_slot(address, key)` through CPython's vectorcall: the bound callable and the frame's address as
# PyObject pointers (kept alive by the frame context), 0 when the frame's code touches no storage.
TOUCH_FN = 248  # PyObject*
TOUCH_ADDR = 256  # PyObject* (bytes)
FRAMES = 264  # i64: frames run on this context, counted by the compiled prologue (MlirBackend.stats)
SCRATCH = 288  # 16 words of 32 bytes
SCRATCH_WORDS = 16
# A CALL* the runtime's rt_precompile declines goes to the Host with its operands in scratch words 0-6; the
# operands it has as i64 (the requested gas saturated at 2**63-1, input offset and size, output offset and size,
# an offset 0 where its size is 0) it also leaves here, in scratch word 8 on, for the Python callback to read
# as five int64 instead of decoding five 256-bit words.
CALL_ARGS = SCRATCH + 32 * 8
ENV = SCRATCH + 32 * SCRATCH_WORDS
ENV_WORDS = 13
SIZE = ENV + 32 * ENV_WORDS

# Function table slots
T_MEM_GROW = 0
T_KECCAK = 1
T_EXP = 2
T_COPY = 3
T_UDIV = 4  # i256 (i256, i256) with EVM semantics (x/0 = 0, MIN/-1 = MIN)
T_UMOD = 5
T_SDIV = 6
T_SMOD = 7
T_ADDMOD = 8  # i256 (i256, i256, i256)
T_MULMOD = 9
T_PRECOMPILE = 10  # i64 (ctx, ...) native precompile call (identity, sha256)
T_SLOAD = 11  # i64 (ctx): slot-cache lookups and writes (key/value in scratch words 0/1)
T_SSTORE = 12
T_TLOAD = 13
T_TSTORE = 14
T_SINSERT = 15  # void (ctx, kind): insert scratch (key, current, original) after a host call
T_HOST = 16  # T_HOST + opcode: host callback `i64 (ptr ctx)` for that opcode
T_LOG = T_HOST + 256  # i64 (ctx, n topics): append a LOG record (scratch: offset, size, topics)
T_QUERY = T_LOG + 1  # i64 (ctx, kind): a cached read (key in scratch word 0): 1 and word 1 = value, or 0
T_SLOAD_COLD = T_QUERY + 1  # i64 (ctx): a cold slot fetched through the C API (ir/pyapi.ll)
T_SSTORE_COLD = T_QUERY + 2  # i64 (ctx, gas)
TABLE_SLOTS = T_SSTORE_COLD + 1

# Status codes returned by the compiled function
ST_STOP = 0
ST_RETURN = 1
ST_REVERT = 2
ST_OOG = 3
ST_UNDERFLOW = 4
ST_OVERFLOW = 5
ST_BAD_JUMP = 6
ST_INVALID = 7
# 8 was ST_STATIC: a static frame's writes are refused by the Host (check_writable), as ST_HOST_ERROR
ST_RETURNDATA_OOB = 9
ST_HOST_ERROR = 10  # the host callback stored an ExceptionalHalt name for the frame
ST_STACK_FAULT = 12  # a segment's stack guard failed (FAULT_PC, FAULT_H; GAS is the counter there)
ST_PYERR = 13  # a C-API call of the runtime left a Python exception pending (ctypes raises it on return)
OP_CONTINUE = -1  # returned by an op-library function when the frame goes on
# Slot cache entry: gen, kind, dirty, pad, key, current, original. Kinds: storage and transient slots of the
# frame's account (written natively, written back), and reads that cannot change while the frame's code runs
# without a call, create or selfdestruct (which empty the cache): BALANCE, EXTCODESIZE and EXTCODEHASH of a
# warm account (SELFBALANCE is BALANCE of ADDRESS), BLOCKHASH by number, BLOBHASH by index. Inserted after the
# host call that answered (and warmed) them, so a live account entry is a warm account.
K_STORAGE, K_TRANSIENT, K_BALANCE, K_CODESIZE, K_CODEHASH, K_BLOCKHASH, K_BLOBHASH = range(7)
ST_CAP = 512  # entries (power of two)
ST_MAX = 384  # live entries at most (load factor 3/4); further slots go through Python
ST_ENTRY = 128
E_GEN, E_KIND, E_DIRTY, E_KEY, E_CUR, E_ORIG = 0, 8, 16, 32, 64, 96

ERROR_NAMES = {
    ST_OOG: "OutOfGas",
    ST_UNDERFLOW: "StackUnderflow",
    ST_OVERFLOW: "StackOverflow",
    ST_BAD_JUMP: "InvalidJump",
    ST_INVALID: "InvalidOpcode",
    ST_RETURNDATA_OOB: "ReturnDataOutOfBounds",
}
