"""Byte layout of the frame context shared by the generated code (codegen) and Python (context.py).

All fields are 8 bytes. The scratch area carries host-call arguments and results as 32-byte
little-endian words (the native i256 layout)."""

GAS = 0            # i64: gas left (in: message gas; out: gas left); stored before host calls
CD_PTR = 8         # ptr: calldata
CD_LEN = 16        # i64
MEM_PTR = 24       # ptr: memory buffer (owned by the context, reused across frames)
MEM_SIZE = 32      # i64: current memory size in bytes (multiple of 32)
MEM_CAP = 40       # i64: capacity of the buffer
RET_OFF = 48       # i64: RETURN/REVERT output offset in memory
RET_LEN = 56       # i64: output length
RD_PTR = 64        # ptr: return data of the last call (owned by Python)
RD_LEN = 72        # i64
TABLE = 80         # ptr: function table
FRAME = 88         # i64: frame id (index of the context in its pool)
SCRATCH = 128      # 16 words of 32 bytes
SCRATCH_WORDS = 16
SIZE = SCRATCH + 32 * SCRATCH_WORDS

# Function table slots
T_MEM_GROW = 0
T_KECCAK = 1
T_EXP = 2
T_COPY = 3
T_UDIV = 4         # i256 (i256, i256) with EVM semantics (x/0 = 0, MIN/-1 = MIN)
T_UMOD = 5
T_SDIV = 6
T_SMOD = 7
T_ADDMOD = 8       # i256 (i256, i256, i256)
T_MULMOD = 9
T_HOST = 16        # T_HOST + opcode: host callback `i64 (ptr ctx)` for that opcode
TABLE_SLOTS = T_HOST + 256

# Status codes returned by the compiled function
ST_STOP = 0
ST_RETURN = 1
ST_REVERT = 2
ST_OOG = 3
ST_UNDERFLOW = 4
ST_OVERFLOW = 5
ST_BAD_JUMP = 6
ST_INVALID = 7
ST_STATIC = 8
ST_RETURNDATA_OOB = 9
ST_HOST_ERROR = 10   # the host callback stored an ExceptionalHalt name for the frame
ERROR_NAMES = {
    ST_OOG: "OutOfGas", ST_UNDERFLOW: "StackUnderflow", ST_OVERFLOW: "StackOverflow",
    ST_BAD_JUMP: "InvalidJump", ST_INVALID: "InvalidOpcode", ST_STATIC: "WriteInStaticContext",
    ST_RETURNDATA_OOB: "ReturnDataOutOfBounds",
}
