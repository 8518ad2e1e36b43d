"""A minimal deterministic zip writer that can copy members already compressed.

A template's unchanged parts (styles, theme, fonts…) are compressed once, when the template is
compiled; each render only deflates the parts it filled in. Every member gets the same fixed
timestamp (1980-01-01 00:00) and members keep the template's order, so the same input gives
the same bytes."""

from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass

_DOS_TIME, _DOS_DATE = 0, (1 << 5) | 1  # 1980-01-01 00:00:00
_UTF8_FLAG = 0x800


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes  # compressed with raw deflate (method 8) or stored (method 0)
    crc: int
    size: int
    method: int = zipfile.ZIP_DEFLATED


def deflate(name: str, content: bytes, level: int = 6) -> Member:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    data = compressor.compress(content) + compressor.flush()
    return Member(name, data, zlib.crc32(content), len(content))


def read_members(blob: bytes) -> list[tuple[str, bytes]]:
    """The members of a zip (a .docx), in their stored order, decompressed."""
    import io

    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist() if not info.is_dir()]


def write(members: list[Member]) -> bytes:
    local, central, offset = [], [], 0
    for m in members:
        name = m.name.encode("utf-8")
        flags = _UTF8_FLAG if not m.name.isascii() else 0
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, m.method, _DOS_TIME, _DOS_DATE,
                             m.crc, len(m.data), m.size, len(name), 0) + name
        local.append(header)
        local.append(m.data)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, m.method, _DOS_TIME,
                                   _DOS_DATE, m.crc, len(m.data), m.size, len(name), 0, 0, 0, 0, 0,
                                   offset) + name)
        offset += len(header) + len(m.data)
    directory = b"".join(central)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(directory), offset, 0)
    return b"".join(local) + directory + end
