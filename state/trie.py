"""Merkle-Patricia trie (Ethereum's hexary trie), giving the same roots and nodes as py-trie's HexaryTrie.

Two ways in:
- `build_root(items, sink)`: the root of a whole set of key/values from scratch (sorted keys, nodes built
  bottom up). Used for genesis and for checking fixture post states; it never reads nodes back.
- `Trie.update(root, items, sink)`: incremental updates of a trie whose nodes live in a store; only the
  paths touched are loaded, rebuilt and re-emitted.

Internally a key path is a string of lowercase hex digits (one char per nibble): slicing, comparing and
hex-prefix encoding are then cheap C-level string operations. A node's RLP is built by hand from the
already-encoded child references because that is several times faster than building nested lists for
`rlp.encode`. `sink(hash, node_rlp)` receives every node that has to be stored (those of 32 bytes and more,
plus the root); smaller nodes are embedded in their parent as the yellow paper says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from common import rlp as rlpcodec
from common.constants import EMPTY_ROOT
from common.keccak import keccak

HEX = "0123456789abcdef"
_BLANK_REF = b"\x80"  # RLP of the empty string: an absent child

Sink = Callable[[bytes, bytes], None] | None


class MissingNodeError(KeyError):
    """A node the root refers to is not in the store (wrong root, or a batch that was never committed)."""


# ---------------------------------------------------------------- RLP pieces


def enc_bytes(b: bytes) -> bytes:
    n = len(b)
    if n == 1 and b[0] < 0x80:
        return b
    if n < 56:
        return bytes((0x80 + n,)) + b
    ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0xB7 + len(ln),)) + ln + b


def enc_list(payload: bytes) -> bytes:
    n = len(payload)
    if n < 56:
        return bytes((0xC0 + n,)) + payload
    ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0xF7 + len(ln),)) + ln + payload


def enc_uint(v: int) -> bytes:
    """RLP of an unsigned int (minimal big-endian); what the state stores for a storage value."""
    if v == 0:
        return b"\x80"
    return enc_bytes(v.to_bytes((v.bit_length() + 7) // 8, "big"))


def _hp(path: str, leaf: bool) -> bytes:
    """Hex-prefix encoding of a nibble path (yellow paper appendix C)."""
    flag = 2 if leaf else 0
    if len(path) & 1:
        return bytes.fromhex(HEX[flag + 1] + path)
    return bytes.fromhex(HEX[flag] + "0" + path)


def _unhp(b: bytes) -> tuple[str, bool]:
    h = b.hex()
    flag = int(h[0], 16)
    return (h[1:] if flag & 1 else h[2:]), bool(flag & 2)


def _place(br: Branch, rest: str, value: bytes) -> None:
    """Put a key remainder into a freshly built branch: its value if the key ends here, else a leaf."""
    if rest:
        br.children[int(rest[0], 16)] = Leaf(rest[1:], value)
    else:
        br.value = value


def _common(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


# ---------------------------------------------------------------- bulk build


def _ref_of(enc: bytes, sink: Sink) -> bytes:
    if len(enc) < 32:
        return enc  # embedded in the parent
    h = keccak(enc)
    if sink is not None:
        sink(h, enc)
    return b"\xa0" + h


def _build(items: list[tuple[str, bytes]], lo: int, hi: int, depth: int, sink: Sink) -> bytes:
    if hi - lo == 1:
        k, v = items[lo]
        return enc_list(enc_bytes(_hp(k[depth:], True)) + enc_bytes(v))
    first, last = items[lo][0], items[hi - 1][0]
    # keys are sorted, so the prefix common to the first and last is common to all
    cp = depth + _common(first[depth:], last[depth:])
    if cp > depth:
        branch = _build_branch(items, lo, hi, cp, sink)
        return enc_list(enc_bytes(_hp(first[depth:cp], False)) + _ref_of(branch, sink))
    return _build_branch(items, lo, hi, depth, sink)


def _build_branch(items: list[tuple[str, bytes]], lo: int, hi: int, depth: int, sink: Sink) -> bytes:
    refs = [_BLANK_REF] * 16
    value = b""
    i = lo
    if len(items[i][0]) == depth:  # a key ending here: its value sits in the branch
        value = items[i][1]
        i += 1
    while i < hi:
        c = items[i][0][depth]
        j = i + 1
        while j < hi and items[j][0][depth] == c:
            j += 1
        refs[int(c, 16)] = _ref_of(_build(items, i, j, depth + 1, sink), sink)
        i = j
    return enc_list(b"".join(refs) + enc_bytes(value))


def build_root(items: Iterable[tuple[str, bytes]], sink: Sink = None, presorted: bool = False) -> bytes:
    """Root of the trie holding `items` (hex path, value); empty values are absent keys.

    Keys must be unique. Every node to store goes to `sink(hash, rlp)`, the root included.
    """
    lst = [kv for kv in items if kv[1]]
    if not lst:
        return EMPTY_ROOT
    if not presorted:
        lst.sort()
    enc = _build(lst, 0, len(lst), 0, sink)
    h = keccak(enc)
    if sink is not None:
        sink(h, enc)
    return h


# ---------------------------------------------------------------- nodes for incremental updates


class Leaf:
    __slots__ = ("path", "value", "ref")

    def __init__(self, path: str, value: bytes) -> None:
        self.path = path
        self.value = value
        self.ref: bytes | None = None  # cached child reference (embedded RLP or 0xa0+hash)


class Ext:
    __slots__ = ("path", "child", "ref")

    def __init__(self, path: str, child: Child) -> None:
        self.path = path
        self.child = child
        self.ref: bytes | None = None


class Branch:
    __slots__ = ("children", "value", "ref")

    def __init__(self, children: list[Child], value: bytes | None) -> None:
        self.children = children
        self.value = value
        self.ref: bytes | None = None


Node = Leaf | Ext | Branch
# a child slot: None (absent), bytes (hash of a node not loaded yet) or a node object.
# Node objects are never mutated once built, so loaded nodes can be shared through the cache.
Child = Node | bytes | None


def _decode_struct(item: list[Any]) -> Node:
    if len(item) == 17:
        return Branch([_child_of(x) for x in item[:16]], item[16] or None)
    path, leaf = _unhp(item[0])
    if leaf:
        return Leaf(path, item[1])
    return Ext(path, _child_of(item[1]))


def _child_of(x: Any) -> Child:
    if isinstance(x, list):
        node = _decode_struct(x)
        node.ref = rlpcodec.encode(x)
        return node
    if not x:
        return None
    return bytes(x)


class Trie:
    """Reads and updates tries whose nodes are fetched by hash through `fetch(hash) -> rlp | None`.

    Decoded nodes are cached by hash (content-addressed, so a cache entry can never go stale, and tries over
    one store may share `cache`: threads too, an entry being whole once set).
    """

    def __init__(
        self, fetch: Callable[[bytes], bytes | None], cache_size: int = 100_000, cache: dict[bytes, Node] | None = None
    ) -> None:
        self._fetch = fetch
        self._cache: dict[bytes, Node] = {} if cache is None else cache
        self._cache_size = cache_size

    # -- loading

    def load(self, h: bytes) -> Node:
        node = self._cache.get(h)
        if node is not None:
            return node
        enc = self._fetch(h)
        if enc is None:
            raise MissingNodeError(h.hex())
        node = _decode_struct(rlpcodec.decode(enc))
        # a root under 32 bytes is stored by hash but would be embedded as a child
        node.ref = b"\xa0" + h if len(enc) >= 32 else enc
        self._remember(h, node)
        return node

    def _remember(self, h: bytes, node: Node) -> None:
        if len(self._cache) >= self._cache_size:
            self._cache.clear()  # crude but bounded; hot nodes come back quickly
        self._cache[h] = node

    # -- reads

    def get(self, root: bytes, path: str) -> bytes | None:
        if root == EMPTY_ROOT:
            return None
        node: Child = root
        pos = 0
        while True:
            if node is None:
                return None
            if isinstance(node, bytes):
                node = self.load(node)
            if isinstance(node, Leaf):
                return node.value if node.path == path[pos:] else None
            if isinstance(node, Ext):
                if not path.startswith(node.path, pos):
                    return None
                pos += len(node.path)
                node = node.child
            else:
                if pos == len(path):
                    return node.value
                node = node.children[int(path[pos], 16)]
                pos += 1

    def items(self, root: bytes) -> Iterator[tuple[str, bytes]]:
        """All (hex path, value) pairs in key order."""
        if root == EMPTY_ROOT:
            return
        stack: list[tuple[str, Child]] = [("", root)]
        while stack:
            prefix, node = stack.pop()
            if node is None:
                continue
            if isinstance(node, bytes):
                node = self.load(node)
            if isinstance(node, Leaf):
                yield prefix + node.path, node.value
            elif isinstance(node, Ext):
                stack.append((prefix + node.path, node.child))
            else:
                for i in range(15, -1, -1):
                    if node.children[i] is not None:
                        stack.append((prefix + HEX[i], node.children[i]))
                if node.value is not None:
                    yield prefix, node.value

    def proof(self, root: bytes, path: str) -> list[bytes]:
        """EIP-1186: the RLP of every stored node on the way to `path`, the root's first; embedded nodes are
        inside their parent's. It proves the value there, or that there is none."""
        if root == EMPTY_ROOT:
            return []
        out: list[bytes] = []
        ref = root
        pos = 0
        while True:
            if isinstance(ref, bytes):
                enc = self._fetch(ref)
                if enc is None:
                    raise MissingNodeError(ref.hex())
                out.append(enc)
                item = rlpcodec.decode(enc)
            else:
                item = ref  # a node embedded in its parent
            if len(item) == 17:
                if pos == len(path):
                    return out
                ref = item[int(path[pos], 16)]
                pos += 1
            else:
                node_path, leaf = _unhp(item[0])
                if leaf or not path.startswith(node_path, pos):
                    return out
                pos += len(node_path)
                ref = item[1]
            if isinstance(ref, bytes) and len(ref) != 32:
                return out  # an empty slot: the key is absent

    # -- updates

    def update(self, root: bytes, items: Iterable[tuple[str, bytes | None]], sink: Sink = None) -> bytes:
        """Apply (hex path, value) pairs (None or b"" deletes) and return the new root.

        New nodes go to `sink`; nothing is written for unchanged subtrees.
        """
        node: Child = None if root == EMPTY_ROOT else root
        for path, value in items:
            if value:
                node = self._insert(node, path, value)
            else:
                node = self._delete(node, path)
        return self._root(node, sink)

    def _insert(self, node: Child, path: str, value: bytes) -> Node:
        if node is None:
            return Leaf(path, value)
        if isinstance(node, bytes):
            node = self.load(node)
        if isinstance(node, Leaf):
            if node.path == path:
                return node if node.value == value else Leaf(path, value)
            cp = _common(node.path, path)
            br = Branch([None] * 16, None)
            _place(br, node.path[cp:], node.value)
            _place(br, path[cp:], value)
            return Ext(path[:cp], br) if cp else br
        if isinstance(node, Ext):
            ep = node.path
            if path.startswith(ep):
                child = self._insert(node.child, path[len(ep) :], value)
                return node if child is node.child else Ext(ep, child)
            cp = _common(ep, path)
            br = Branch([None] * 16, None)
            rest = ep[cp + 1 :]
            br.children[int(ep[cp], 16)] = Ext(rest, node.child) if rest else node.child
            _place(br, path[cp:], value)
            return Ext(ep[:cp], br) if cp else br
        if not path:
            return node if node.value == value else Branch(list(node.children), value)
        i = int(path[0], 16)
        old = node.children[i]
        child = self._insert(old, path[1:], value)
        if child is old:
            return node
        ch = list(node.children)
        ch[i] = child
        return Branch(ch, node.value)

    def _delete(self, node: Child, path: str) -> Node | None:
        if node is None:
            return None
        if isinstance(node, bytes):
            node = self.load(node)
        if isinstance(node, Leaf):
            return None if node.path == path else node
        if isinstance(node, Ext):
            ep = node.path
            if not path.startswith(ep):
                return node
            child = self._delete(node.child, path[len(ep) :])
            if child is node.child:
                return node
            return self._join(ep, child)
        if not path:
            if node.value is None:
                return node
            return self._normalize(node.children, None)
        i = int(path[0], 16)
        old = node.children[i]
        child = self._delete(old, path[1:])
        if child is old:
            return node
        ch = list(node.children)
        ch[i] = child
        return self._normalize(ch, node.value)

    def _join(self, prefix: str, child: Child) -> Node | None:
        """An extension `prefix` over `child`, merged so no extension points at a leaf or an extension."""
        if child is None:
            return None
        if isinstance(child, bytes):
            child = self.load(child)
        if isinstance(child, Leaf):
            return Leaf(prefix + child.path, child.value)
        if isinstance(child, Ext):
            return Ext(prefix + child.path, child.child)
        return Ext(prefix, child)

    def _normalize(self, children: list[Child], value: bytes | None) -> Node | None:
        """A branch left with one item after a delete collapses into a leaf or an extension."""
        live = [i for i in range(16) if children[i] is not None]
        if len(live) + (value is not None) >= 2:
            return Branch(children, value)
        if not live:
            return Leaf("", value) if value is not None else None
        i = live[0]
        return self._join(HEX[i], children[i])

    # -- encoding

    def _ref(self, node: Child, sink: Sink) -> bytes:
        if node is None:
            return _BLANK_REF
        if isinstance(node, bytes):
            return b"\xa0" + node
        r = node.ref
        if r is None:
            r = _ref_of(self._encode(node, sink), sink)
            node.ref = r
            if len(r) == 33:  # referenced by hash: the next block's reads of it need not decode it again
                self._remember(r[1:], node)
        return r

    def _encode(self, node: Node, sink: Sink) -> bytes:
        if isinstance(node, Leaf):
            return enc_list(enc_bytes(_hp(node.path, True)) + enc_bytes(node.value))
        if isinstance(node, Ext):
            return enc_list(enc_bytes(_hp(node.path, False)) + self._ref(node.child, sink))
        return enc_list(b"".join([self._ref(c, sink) for c in node.children]) + enc_bytes(node.value or b""))

    def _root(self, node: Child, sink: Sink) -> bytes:
        if node is None:
            return EMPTY_ROOT
        if isinstance(node, bytes):
            return node
        r = self._ref(node, sink)
        if len(r) == 33 and r[0] == 0xA0:
            return r[1:]
        # the root is always stored by its hash, even when under 32 bytes
        h = keccak(r)
        if sink is not None:
            sink(h, r)
        self._remember(h, node)
        return h
