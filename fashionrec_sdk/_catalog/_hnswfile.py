"""Structural check of an hnswlib index file before hnswlib ever reads it.

hnswlib trusts its files: a neighbour id past the end of the graph, a link list longer
than ``maxM0`` or an entry point on the wrong level is an out-of-bounds read inside
C++, which kills the interpreter. Hash checks in the catalog manifest catch accidental
damage; this parser also rejects a file *crafted* to match a crafted manifest. It
checks every field hnswlib's search and update paths dereference, so a file that
passes cannot make hnswlib read or write outside its buffers.

File layout (hnswlib 0.7 / 0.8, little endian)::

    header (96 bytes): offsetLevel0 u64, max_elements u64, cur_element_count u64,
        size_data_per_element u64, label_offset u64, offsetData u64, maxlevel i32,
        enterpoint_node u32, maxM u64, maxM0 u64, M u64, mult f64, ef_construction u64
    level 0, one fixed-size record per element:
        [count u16 | flags u8 (bit 0: deleted) | pad u8][maxM0 x u32 neighbours]
        [dim x f32 vector][label u64]
    upper levels, per element: size u32, then size bytes = level x
        ([count u16 | pad u16][maxM x u32 neighbours])
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._errors import ArtifactIntegrityError

__all__ = ["HEADER_BYTES", "HnswFileInfo", "inspect_hnsw_file"]

_HEADER = struct.Struct("<6QiI3QdQ")
HEADER_BYTES = _HEADER.size  # 96
_MAX_LEVEL = 64


@dataclass(frozen=True)
class HnswFileInfo:
    """What the catalog needs to know of a checked index file."""

    count: int
    labels: np.ndarray  # (count,) uint64, one per element
    deleted: np.ndarray  # (count,) bool


def _fail(path: Path, what: str) -> ArtifactIntegrityError:
    return ArtifactIntegrityError(f"index file {path} is malformed: {what}", path=path)


def inspect_hnsw_file(
    path: Path, *, dim: int, m: int, ef_construction: int, count: int
) -> HnswFileInfo:
    """Parse and bounds-check ``path``; raise :class:`ArtifactIntegrityError` if unsafe.

    Args:
        path: the index file.
        dim: vector dimension the catalog manifest declares.
        m: the ``M`` parameter the manifest declares (``maxM0`` is ``2 * m``).
        ef_construction: the manifest's ``ef_construction``.
        count: number of elements (labels ever added) the manifest declares.
    """
    size = path.stat().st_size
    if size < HEADER_BYTES:
        raise _fail(path, f"{size} bytes, shorter than the {HEADER_BYTES}-byte header")
    with open(path, "rb") as fh:
        head = fh.read(HEADER_BYTES)
    (
        offset_level0,
        max_elements,
        cur_count,
        size_per_element,
        label_offset,
        offset_data,
        max_level,
        enterpoint,
        max_m,
        max_m0,
        m_value,
        mult,
        ef_c,
    ) = _HEADER.unpack(head)
    links0 = 4 + 4 * max_m0
    expected = {
        "offsetLevel0": (offset_level0, 0),
        "cur_element_count": (cur_count, count),
        "M": (m_value, m),
        "maxM": (max_m, m),
        "maxM0": (max_m0, 2 * m),
        "offsetData": (offset_data, 4 + 8 * m),
        "label_offset": (label_offset, 4 + 8 * m + 4 * dim),
        "size_data_per_element": (size_per_element, 4 + 8 * m + 4 * dim + 8),
        "ef_construction": (ef_c, ef_construction),
    }
    for name, (found, want) in expected.items():
        if found != want:
            raise _fail(path, f"header field {name} is {found}, expected {want}")
    if max_elements < cur_count:
        raise _fail(path, f"max_elements {max_elements} < element count {cur_count}")
    if not math.isfinite(mult) or mult <= 0:
        raise _fail(path, f"level multiplier {mult!r} is not a positive number")
    body0 = cur_count * size_per_element
    if HEADER_BYTES + body0 + 4 * cur_count > size:
        raise _fail(path, f"{size} bytes cannot hold {cur_count} elements")
    if cur_count == 0:
        if max_level != -1 or size != HEADER_BYTES:
            raise _fail(path, "an empty index must have maxlevel -1 and no body")
        empty = np.zeros(0, dtype=np.uint64)
        return HnswFileInfo(0, empty, np.zeros(0, dtype=bool))
    if not 0 <= max_level < _MAX_LEVEL:
        raise _fail(path, f"maxlevel {max_level} outside [0, {_MAX_LEVEL})")
    if enterpoint >= cur_count:
        raise _fail(path, f"entry point {enterpoint} >= element count {cur_count}")

    level0 = np.memmap(path, dtype=np.uint8, mode="r", offset=HEADER_BYTES, shape=(body0,))
    try:
        rows = level0.reshape(cur_count, size_per_element)
        head0 = np.ascontiguousarray(rows[:, :4]).view(np.uint16)
        counts0 = head0[:, 0].astype(np.int64)
        deleted = (np.ascontiguousarray(rows[:, 2]) & 1).astype(bool)
        if int(counts0.max()) > max_m0:
            raise _fail(path, f"a level-0 link list is longer than maxM0={max_m0}")
        neighbours0 = np.ascontiguousarray(rows[:, 4:links0]).view(np.uint32)
        used = np.arange(max_m0)[None, :] < counts0[:, None]
        if bool((neighbours0[used] >= cur_count).any()):
            raise _fail(path, "a level-0 link points past the last element")
        labels = np.ascontiguousarray(rows[:, label_offset : label_offset + 8]).view(np.uint64)
        labels = labels.reshape(cur_count).copy()
    finally:
        del level0
    with open(path, "rb") as fh:
        fh.seek(HEADER_BYTES + body0)
        upper = fh.read()
    levels = _upper_levels(path, upper, cur_count, max_m, max_level)
    if int(levels[enterpoint]) != max_level:
        raise _fail(path, f"entry point is on level {levels[enterpoint]}, maxlevel is {max_level}")
    return HnswFileInfo(cur_count, labels, deleted)


def _upper_levels(path: Path, data: bytes, count: int, max_m: int, max_level: int) -> np.ndarray:
    """Walk the per-element upper link lists; check sizes, counts and targets' levels."""
    per_level = 4 + 4 * max_m
    levels = np.zeros(count, dtype=np.int64)
    blocks: list[tuple[int, int]] = []  # (byte offset of the element's lists, level)
    pos = 0
    end = len(data)
    unpack = struct.Struct("<I").unpack_from
    for i in range(count):
        if pos + 4 > end:
            raise _fail(path, f"file ends inside the upper link lists (element {i})")
        (nbytes,) = unpack(data, pos)
        pos += 4
        if nbytes:
            if nbytes % per_level:
                raise _fail(path, f"element {i} has a {nbytes}-byte link block")
            level = nbytes // per_level
            if level > max_level or pos + nbytes > end:
                raise _fail(path, f"element {i} claims level {level} (maxlevel {max_level})")
            levels[i] = level
            blocks.append((pos, level))
            pos += nbytes
    if pos != end:
        raise _fail(path, f"{end - pos} unexpected trailing bytes")
    if not blocks:
        return levels
    nrows = sum(level for _, level in blocks)
    table = np.empty((nrows, 1 + max_m), dtype=np.uint32)
    row_level = np.empty(nrows, dtype=np.int64)
    r = 0
    for offset, level in blocks:
        chunk = np.frombuffer(data, dtype=np.uint32, count=level * (1 + max_m), offset=offset)
        table[r : r + level] = chunk.reshape(level, 1 + max_m)
        row_level[r : r + level] = np.arange(1, level + 1)
        r += level
    counts = (table[:, 0] & 0xFFFF).astype(np.int64)
    if int(counts.max()) > max_m:
        raise _fail(path, f"an upper link list is longer than maxM={max_m}")
    used = np.arange(max_m)[None, :] < counts[:, None]
    targets = table[:, 1:][used].astype(np.int64)
    if bool((targets >= count).any()):
        raise _fail(path, "an upper-level link points past the last element")
    target_level = np.broadcast_to(row_level[:, None], used.shape)[used]
    if bool((levels[targets] < target_level).any()):
        raise _fail(path, "an upper-level link points to an element absent from that level")
    return levels
