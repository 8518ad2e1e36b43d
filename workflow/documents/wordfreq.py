"""jieba's dictionary without loading it: a sorted copy of its word list, searched in place.

jieba.Tokenizer builds a dict of some 600,000 words and prefixes when it first cuts (0.8 s, every
process), while a title needs a few hundred lookups. So the word list (jieba/dict.txt) is sorted once
into a cache file (`#total N` on its first line, then `word<TAB>freq` lines in UTF-8 byte order)
and every process maps it and bisects it: the tokenizer gets a FREQ with the same answers as its
own (a word has its frequency, a prefix of a word is present with 0). Words added at run time
(add_word) go into an overlay."""

from __future__ import annotations

import mmap
import os
import tempfile
from pathlib import Path
from typing import Any

_HEADER = b"#total\t"


class SortedFreq:
    """A read-only view of the sorted word file as jieba's FREQ mapping, plus an overlay."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as handle:
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        first = self._map.find(b"\n")
        self.total = int(self._map[len(_HEADER):first])
        self._start, self._size = first + 1, len(self._map)
        self._overlay: dict[str, int] = {}

    def _at(self, key: bytes) -> tuple[int | None, bool]:
        """(the frequency of `key` if it is a word, whether some word starts with it)."""
        found, lo, hi = self._map, self._start, self._size
        while lo < hi:  # lo: always a line start; the first line whose word >= key
            mid = (lo + hi) // 2
            start = found.rfind(b"\n", lo, mid)
            start = lo if start == -1 else start + 1
            end = found.find(b"\n", start)
            word = found[start:found.find(b"\t", start, end)]
            if word < key:
                lo = end + 1
            else:
                hi = start
        if lo >= self._size:
            return None, False
        end = found.find(b"\n", lo)
        word, _, freq = found[lo:end].partition(b"\t")
        return (int(freq) if word == key else None), word.startswith(key)

    def get(self, word: str, default: Any = None) -> Any:
        if word in self._overlay:
            return self._overlay[word]
        freq, prefix = self._at(word.encode("utf-8"))
        return freq if freq is not None else (0 if prefix else default)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.get(word) is not None

    def __getitem__(self, word: str) -> int:
        found = self.get(word)
        if found is None:
            raise KeyError(word)
        return int(found)

    def __setitem__(self, word: str, freq: int) -> None:
        self._overlay[word] = freq


def sorted_dictionary(source: Path, cache: Path) -> Path:
    """The sorted copy of jieba's dict.txt in `cache` (made once, atomically; remade if the source
    changes)."""
    stat = source.stat()
    target = cache / f"jieba-{stat.st_size}-{int(stat.st_mtime)}-v2.freq"
    if target.is_file():
        return target
    words: dict[bytes, int] = {}
    total = 0  # as jieba counts it: every line, a word listed twice too (its last frequency is kept)
    for line in source.read_bytes().splitlines():
        parts = line.split(b" ")
        if len(parts) >= 2 and parts[0]:
            words[parts[0]] = int(parts[1])
            total += int(parts[1])
    body = b"".join(word + b"\t" + str(freq).encode() + b"\n" for word, freq in sorted(words.items()))
    cache.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=cache, prefix=target.name + ".")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(_HEADER + str(total).encode() + b"\n" + body)
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return target


def tokenizer() -> Any:
    """A jieba.Tokenizer whose dictionary is the mapped sorted copy (ready at once)."""
    import jieba

    source = Path(jieba.__file__).parent / "dict.txt"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    try:
        path = sorted_dictionary(source, Path(base) / "gongwen")
    except OSError:  # no writable cache folder (a read-only home): a private one
        path = sorted_dictionary(source, Path(tempfile.gettempdir()) / f"gongwen-{os.getuid()}")
    made = jieba.Tokenizer()
    freq = SortedFreq(path)
    made.FREQ, made.total, made.initialized = freq, freq.total, True
    return made
