"""Simplified-Chinese faces for LibreOffice's PDFs: the 公文 font names of the templates (仿宋_GB2312,
方正小标宋简体, 黑体, 楷体_GB2312, 宋体) mapped onto installed faces by a fontconfig file that office.py hands
to soffice (FONTCONFIG_FILE).

Without it none of those names is installed and every run falls back to one thin sans (Noto Sans CJK
SC Regular): 标志, titles, headings and body look alike. And Debian's fonts-noto-cjk ships each weight
as one .ttc collection whose five faces (JP, KR, SC, TC, HK, face 0 = JP) share a single CFF table
named "NotoSansCJKjp-…", which is the name LibreOffice embeds: pdffonts shows NotoSansCJKjp even where
the SC face and SC glyphs were used. So the SC face of each collection is copied into a font file of
its own whose CFF names say "sc" (NotoSerifCJKsc-Regular, as in the per-language OTFs Adobe and Google
publish; glyphs, tables and licence unchanged), kept in a cache folder (~80 MB, made once); the
fontconfig file adds that folder and hides the collections, so no JP face can be picked at all.
Mapping: 宋体 and 仿宋 → Noto Serif CJK SC, 小标宋 → Noto Serif CJK SC Bold, 黑体 → Noto Sans CJK SC Bold,
楷体 → AR PL KaitiM GB (fonts-arphic-gkai00mp) or AR PL UKai CN when one is installed, else the serif."""

from __future__ import annotations

import array
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

SERIF, SANS = "Noto Serif CJK SC", "Noto Sans CJK SC"
# 楷体: AR PL KaitiM GB (fonts-arphic-gkai00mp: a GB2312 楷体 with GB punctuation), else AR PL UKai CN
KAI = ("AR PL KaitiM GB", "AR PL UKai CN")
# (names in the templates and their usual Windows/WPS spellings) -> (families, first that is installed wins; bold)
ALIASES: dict[tuple[str, ...], tuple[tuple[str, ...], bool]] = {
    ("宋体", "SimSun", "新宋体", "NSimSun", "仿宋_GB2312", "仿宋", "FangSong", "FangSong_GB2312",
     "方正仿宋_GBK", "仿宋_GBK"): ((SERIF,), False),
    ("方正小标宋简体", "方正小标宋_GBK", "小标宋", "FZXiaoBiaoSong-B05S"): ((SERIF,), True),
    ("黑体", "SimHei", "方正黑体_GBK", "方正黑体简体"): ((SANS,), True),
    ("楷体_GB2312", "楷体", "KaiTi", "KaiTi_GB2312", "方正楷体_GBK", "方正楷体简体"): ((*KAI, SERIF), False),
    # the other languages' faces of the collections, which are hidden, keep their style in SC
    tuple(f"Noto Serif CJK {lang}" for lang in ("JP", "KR", "TC", "HK")): ((SERIF,), False),
    tuple(f"Noto Sans CJK {lang}" for lang in ("JP", "KR", "TC", "HK")): ((SANS,), False),
}
FACES = [(SERIF, "Regular"), (SERIF, "Bold"), (SANS, "Regular"), (SANS, "Bold")]
FORMAT = 5  # bump when the extracted files or the configuration change


def _fc_list(family: str) -> list[tuple[str, int, str]]:
    """(file, face index, style) of each installed face of family, from fontconfig's fc-list."""
    try:
        done = subprocess.run(["fc-list", "-f", "%{file}\t%{index}\t%{style[0]}\n", f"{family}"],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return []
    found = []
    for line in done.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[1].isdigit():
            found.append((parts[0], int(parts[1]), parts[2]))
    return sorted(found)


def _checksum(data: bytes) -> int:
    """The sfnt table checksum: the sum of big-endian uint32s (an array, not 6 million int objects)."""
    words = array.array("I" if array.array("I").itemsize == 4 else "L")
    words.frombytes(data + b"\0" * (-len(data) % 4))
    if sys.byteorder == "little":
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


def _index_end(cff: bytes, pos: int) -> int:
    """The offset just past the CFF INDEX that starts at pos."""
    count = struct.unpack(">H", cff[pos:pos + 2])[0]
    if count == 0:
        return pos + 2
    size = cff[pos + 2]
    start = pos + 3 + count * size
    return start + int.from_bytes(cff[start:start + size], "big") + size - 1


def _rename_cff(cff: bytes) -> bytes:
    """The CFF table with its Name and String INDEXes saying sc/SC where they said jp/JP (same length,
    so no offset moves); Top DICT, charstrings and everything after are copied unchanged."""
    end = _index_end(cff, _index_end(cff, _index_end(cff, cff[2])))  # Name, Top DICT, String INDEX
    head = cff[:end].replace(b"CJKjp", b"CJKsc").replace(b"CJK JP", b"CJK SC")
    return head + cff[end:]


def extract_face(collection: bytes, index: int) -> bytes:
    """Face `index` of a TrueType/OpenType collection as a font file of its own (OTF or TTF)."""
    if collection[:4] != b"ttcf":
        raise ValueError("not a font collection")
    count = struct.unpack(">I", collection[8:12])[0]
    if not 0 <= index < count:
        raise ValueError(f"no face {index} in a collection of {count}")
    start = struct.unpack(">I", collection[12 + 4 * index:16 + 4 * index])[0]
    version, tables = struct.unpack(">IH", collection[start:start + 6])
    entries = []
    for k in range(tables):
        tag, checksum, offset, length = struct.unpack(">4sIII", collection[start + 12 + 16 * k:start + 28 + 16 * k])
        data = collection[offset:offset + length]
        if tag == b"CFF ":
            data = _rename_cff(data)
            checksum = _checksum(data)
        if tag == b"head":
            data = data[:8] + b"\0\0\0\0" + data[12:]
            checksum = _checksum(data)
        entries.append((tag, checksum, data))
    entries.sort()
    power = 1 << (len(entries).bit_length() - 1)
    header = struct.pack(">IHHHH", version, len(entries), power * 16, power.bit_length() - 1,
                         len(entries) * 16 - power * 16)
    offset = 12 + 16 * len(entries)
    directory, body = [], []
    for tag, checksum, data in entries:
        directory.append(struct.pack(">4sIII", tag, checksum, offset, len(data)))
        padded = data + b"\0" * (-len(data) % 4)
        body.append(padded)
        offset += len(padded)
    font = bytearray(header + b"".join(directory) + b"".join(body))
    total = (_checksum(bytes(header + b"".join(directory))) + sum(c for _, c, _ in entries)) & 0xFFFFFFFF
    head_at = 12 + 16 * len(entries) + sum(len(b) for b, (t, _, _) in zip(body, entries) if t < b"head")
    font[head_at + 8:head_at + 12] = struct.pack(">I", (0xB1B0AFBA - total) & 0xFFFFFFFF)
    return bytes(font)


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gongwen" / "fonts"


def _write_atomically(path: Path, data: bytes, scratch: Path) -> None:
    """Several conversions may build the same file at once: each writes its own in scratch (a folder
    fontconfig does not scan, on the same file system) and renames it into place."""
    handle, name = tempfile.mkstemp(dir=scratch, prefix=path.name + ".")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(name, 0o644)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _config(folder: Path, hidden: list[str]) -> str:
    rules: list[str] = []
    for names, (families, bold) in ALIASES.items():
        weight = '<edit name="weight" mode="assign" binding="strong"><const>bold</const></edit>' if bold else ""
        assign = "".join(f"<string>{escape(family)}</string>" for family in families)
        rules.extend(f'  <match target="pattern"><test name="family"><string>{escape(name)}</string></test>'
                     f'<edit name="family" mode="assign" binding="strong">{assign}</edit>{weight}</match>'
                     for name in names)
    rejected = "".join(f"<glob>{escape(path)}</glob>" for path in hidden)
    return ('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n<fontconfig>\n'
            "  <!-- written by gongwen (workflow/documents/fonts.py) for LibreOffice's PDF export -->\n"
            f"  <dir>{escape(str(folder / 'fonts'))}</dir>\n"
            f"  <cachedir>{escape(str(folder / 'fccache'))}</cachedir>\n"
            f"  <selectfont><rejectfont>{rejected}</rejectfont></selectfont>\n" + "\n".join(rules) + "\n"
            '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n</fontconfig>\n')


def fontconfig_file() -> Path | None:
    """A fontconfig file for soffice that maps the 公文 names onto Simplified-Chinese faces (built once,
    then reused from the cache); None when Noto CJK SC is not installed (soffice then keeps its own)."""
    sources = []
    for family, style in FACES:
        found = [(path, index) for path, index, got in _fc_list(family) if got == style]
        if not found:
            return None
        sources.append(found[0])
    try:
        key = hashlib.sha256(repr((FORMAT, [(p, i, os.stat(p).st_size, os.stat(p).st_mtime_ns)
                                            for p, i in sources])).encode()).hexdigest()[:16]
        try:
            return _build(_cache_root(), key, sources)
        except OSError:  # no writable cache folder (a read-only home): a private one under /tmp
            return _build(Path(tempfile.gettempdir()) / f"gongwen-fonts-{os.getuid()}", key, sources)
    except (OSError, ValueError, struct.error):  # a damaged font file: soffice keeps the system's fonts
        return None


def _is_collection(path: str) -> bool:
    with open(path, "rb") as font:
        return font.read(4) == b"ttcf"


def _build(root: Path, key: str, sources: list[tuple[str, int]]) -> Path:
    folder = root / key
    config = folder / "fonts.conf"
    if config.is_file():
        return config
    (folder / "fonts").mkdir(parents=True, exist_ok=True)
    collections = sorted({path for path, _ in sources if _is_collection(path)})
    for (family, style), (path, index) in zip(FACES, sources):
        target = folder / "fonts" / f"{family.replace(' ', '')}-{style}.otf"
        if path in collections and not target.is_file():  # a font file of its own is used as it is
            _write_atomically(target, extract_face(Path(path).read_bytes(), index), folder)
    # every Noto CJK collection beside the ones used (other weights of fonts-noto-cjk-extra) too
    hidden = sorted({str(Path(path).parent / "Noto*CJK*.tt[cf]") for path in collections} | set(collections))
    _write_atomically(config, _config(folder, hidden).encode("utf-8"), folder)
    for stale in root.iterdir():  # copies made from fonts since updated or removed (~80 MB each)
        if stale.is_dir() and stale.name != key:
            shutil.rmtree(stale, ignore_errors=True)
    return config
