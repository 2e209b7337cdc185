"""A streaming MCAP reader that survives truncated files.

A bag whose writer was killed has no summary and no footer, and may end inside a
record. `Scanner` reads the data section front to back, record by record, and stops at
the first record that is not complete. A chunk cut short still gives up the records it
holds: the decompressor (zstd, lz4 or none) decodes the bytes that are there and every
record that lies wholly inside them is returned. Scanning ends at DataEnd, after which
only the summary (a copy of the data section's index) follows.

Record layouts follow the MCAP specification (mcap.dev/spec).
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterator

import lz4.frame
import zstandard

MAGIC = b"\x89MCAP0\r\n"
OP_HEADER, OP_FOOTER, OP_SCHEMA, OP_CHANNEL, OP_MESSAGE, OP_CHUNK = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
OP_METADATA, OP_DATA_END = 0x0C, 0x0F
FOOTER_SIZE = 1 + 8 + 20  # opcode, length, summary_start, summary_offset_start, summary_crc
_CHUNK_FIXED = struct.Struct("<QQQI")  # message_start_time, message_end_time, uncompressed_size, crc
_MSG_FIXED = struct.Struct("<HIQQ")  # channel_id, sequence, log_time, publish_time
_U16, _U32, _U64 = struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<Q")
_HEAD = struct.Struct("<BQ")


class McapFormatError(ValueError):
    pass


@dataclass(frozen=True)
class Schema:
    id: int
    name: str
    encoding: str
    data: bytes


@dataclass(frozen=True)
class Channel:
    id: int
    schema_id: int
    topic: str
    message_encoding: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Message:
    channel_id: int
    sequence: int
    log_time: int
    publish_time: int
    data: bytes


@dataclass(frozen=True)
class Metadata:
    name: str
    metadata: dict[str, str]


def _string(buf, off: int) -> tuple[str, int]:
    (n,) = _U32.unpack_from(buf, off)
    end = off + 4 + n
    if end > len(buf):
        raise McapFormatError("string runs past its record")
    return bytes(buf[off + 4:end]).decode("utf-8"), end


def _map(buf, off: int) -> tuple[dict[str, str], int]:
    (n,) = _U32.unpack_from(buf, off)
    off += 4
    end = off + n
    out = {}
    while off < end:
        k, off = _string(buf, off)
        out[k], off = _string(buf, off)
    return out, end


def _parse(op: int, buf, start: int, end: int):
    """One record's body buf[start:end] -> a record object (None for kinds not needed)."""
    if op == OP_MESSAGE:
        cid, seq, log_time, pub_time = _MSG_FIXED.unpack_from(buf, start)
        return Message(cid, seq, log_time, pub_time, bytes(buf[start + _MSG_FIXED.size:end]))
    if op == OP_CHANNEL:
        (cid,) = _U16.unpack_from(buf, start)
        (sid,) = _U16.unpack_from(buf, start + 2)
        topic, off = _string(buf, start + 4)
        enc, off = _string(buf, off)
        meta, _ = _map(buf, off)
        return Channel(cid, sid, topic, enc, meta)
    if op == OP_SCHEMA:
        (sid,) = _U16.unpack_from(buf, start)
        name, off = _string(buf, start + 2)
        enc, off = _string(buf, off)
        (n,) = _U32.unpack_from(buf, off)
        return Schema(sid, name, enc, bytes(buf[off + 4:off + 4 + n]))
    if op == OP_METADATA:
        name, off = _string(buf, start)
        meta, _ = _map(buf, off)
        return Metadata(name, meta)
    return None


def _records(buf, complete: bool) -> Iterator:
    """Records packed in a chunk's decompressed bytes. With `complete` False (a chunk cut
    short) the first record that runs past the bytes ends it quietly."""
    off, n = 0, len(buf)
    while off < n:
        if off + 9 > n:
            break
        op, length = _HEAD.unpack_from(buf, off)
        end = off + 9 + length
        if end > n:
            break
        rec = _parse(op, buf, off + 9, end)
        if rec is not None:
            yield rec
        off = end
    if complete and off != n:
        raise McapFormatError(f"a record inside a chunk runs past its end (at byte {off} of {n})")


def _decompress(compression: str, data: bytes, size: int | None) -> bytes:
    """Whole chunk when `size` is given, otherwise as much as the cut-off bytes decode to."""
    if compression == "":
        return data
    if compression == "zstd":
        if size is not None:
            return zstandard.ZstdDecompressor().decompress(data, max_output_size=size)
        try:
            return zstandard.ZstdDecompressor().decompressobj().decompress(data)
        except zstandard.ZstdError:
            return b""
    if compression == "lz4":
        if size is not None:
            return lz4.frame.decompress(data)
        try:
            return lz4.frame.LZ4FrameDecompressor().decompress(data)
        except RuntimeError:
            return b""
    raise McapFormatError(f"unsupported chunk compression {compression!r}")


def has_footer(f: BinaryIO) -> bool:
    """True when the file ends with a footer record and the closing magic (a finished file)."""
    size = os.fstat(f.fileno()).st_size
    if size < 2 * len(MAGIC) + FOOTER_SIZE:
        return False
    f.seek(size - len(MAGIC) - FOOTER_SIZE)
    tail = f.read(FOOTER_SIZE + len(MAGIC))
    op, length = _HEAD.unpack_from(tail, 0)
    return tail[-len(MAGIC):] == MAGIC and op == OP_FOOTER and length == 20


class Scanner:
    """Reads one MCAP file's data section in order. After `records()` is exhausted,
    `cut_at` is the byte offset of the first incomplete record (None if the data
    section ended properly) and `data_end` tells whether DataEnd was reached."""

    def __init__(self, f: BinaryIO, path: str) -> None:
        self.f = f
        self.path = path
        self.size = os.fstat(f.fileno()).st_size
        self.cut_at: int | None = None
        self.data_end = False
        self.profile: str | None = None

    def _fail(self, pos: int, what: str) -> McapFormatError:
        return McapFormatError(f"{self.path}: {what} (record at byte {pos})")

    def records(self, messages: bool = True,
                chunk_wanted: Callable[[int, int], bool] | None = None) -> Iterator:
        """Schema, Channel, Message and Metadata records in file order. `messages=False`
        skips chunks and messages (fast metadata reads); `chunk_wanted(start, end)` may
        skip whole chunks by their message time range."""
        f = self.f
        f.seek(0)
        magic = f.read(len(MAGIC))
        if magic != MAGIC:
            if len(magic) < len(MAGIC) and MAGIC.startswith(magic):
                self.cut_at = len(magic)
                return
            raise McapFormatError(f"{self.path}: not an MCAP file (it does not start with the MCAP magic)")
        pos = len(MAGIC)
        while True:
            head = f.read(9)
            if len(head) < 9:
                self.cut_at = pos
                return
            op, length = _HEAD.unpack(head)
            end = pos + 9 + length
            if op == OP_DATA_END or op == OP_FOOTER:
                self.data_end = True
                return
            if op == OP_CHUNK:
                if not messages:
                    if end > self.size:
                        self.cut_at = pos
                        return
                    f.seek(end)
                else:
                    fixed = f.read(_CHUNK_FIXED.size)
                    if len(fixed) < _CHUNK_FIXED.size:
                        self.cut_at = pos
                        return
                    t0, t1, usize, _ = _CHUNK_FIXED.unpack(fixed)
                    if chunk_wanted is not None and not chunk_wanted(t0, t1):
                        if end > self.size:
                            self.cut_at = pos
                            return
                        f.seek(end)
                    else:
                        rest = f.read(length - _CHUNK_FIXED.size)
                        complete = len(rest) == length - _CHUNK_FIXED.size
                        yield from self._chunk(rest, usize, complete, pos)
                        if not complete:
                            self.cut_at = pos
                            return
            elif op in (OP_SCHEMA, OP_CHANNEL, OP_METADATA, OP_HEADER) or (op == OP_MESSAGE and messages):
                body = f.read(length)
                if len(body) < length:
                    self.cut_at = pos
                    return
                try:
                    if op == OP_HEADER:
                        self.profile, _ = _string(body, 0)
                        rec = None
                    else:
                        rec = _parse(op, body, 0, length)
                except (struct.error, McapFormatError, UnicodeDecodeError) as e:
                    raise self._fail(pos, f"malformed record 0x{op:02x}: {e}") from None
                if rec is not None:
                    yield rec
            else:
                if end > self.size:
                    self.cut_at = pos
                    return
                f.seek(end)
            pos = end

    def _chunk(self, rest: bytes, usize: int, complete: bool, pos: int) -> Iterator:
        """Records of one chunk; `rest` is the chunk body after its fixed fields."""
        try:
            compression, off = _string(rest, 0)
            (clen,) = _U64.unpack_from(rest, off)
        except (struct.error, McapFormatError):
            if complete:
                raise self._fail(pos, "malformed chunk header") from None
            return
        data = rest[off + 8:off + 8 + clen]
        try:
            raw = _decompress(compression, data, usize if complete else None)
        except (zstandard.ZstdError, RuntimeError, McapFormatError) as e:
            raise self._fail(pos, f"chunk does not decompress ({compression or 'none'}): {e}") from None
        try:
            yield from _records(raw, complete)
        except (struct.error, McapFormatError, UnicodeDecodeError) as e:
            raise self._fail(pos, f"malformed chunk: {e}") from None
