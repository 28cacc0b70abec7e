"""json.loads without the C-stack hazard of deep nesting.

CPython's JSON decoder recurses once per nesting level and is only stopped by the interpreter's recursion limit;
a library that raises that limit (py_ecc and web3 set it to 100,000 on import) turns a body like `[[[[...` into a
segfault instead of a RecursionError. `loads` refuses anything nested deeper than MAX_DEPTH before decoding."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 512  # far deeper than any genesis file or JSON-RPC request; Go's encoding/json allows 10,000

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class TooDeep(ValueError):
    pass


def nesting_depth_exceeds(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    if raw.count(b"[") + raw.count(b"{") <= limit:  # the usual case: cannot be deeper than that
        return False
    depth = 0
    for b in _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS):
        if b in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def loads(raw: bytes | str, **kwargs: Any) -> Any:
    """json.loads; TooDeep (a ValueError) for nesting deeper than MAX_DEPTH."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if nesting_depth_exceeds(data):
        raise TooDeep(f"nested deeper than {MAX_DEPTH} levels")
    return json.loads(raw, **kwargs)
