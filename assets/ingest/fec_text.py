"""Bytes to clean UTF-8 text for the FEC reader: detect the encoding, normalise line ends, cut into chunks.

DuckDB reads UTF-8 only, and the FEC arrives as UTF-8 (with or without BOM), ISO-8859-15, CP850 or
Windows-1252, with LF, CRLF, CR CR LF or bare CR line ends. One streaming pass rewrites it as LF-terminated
UTF-8 chunk files of bounded size, each knowing the physical line number it starts at, so DuckDB can parse a
ledger of any size in bounded memory and every row keeps its exact line number.
"""

from __future__ import annotations

import codecs
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from assets.ingest.registry import FileRejected

UTF8_BOM = codecs.BOM_UTF8
ASCII_BYTES = bytes(range(128))
BLANK_BYTES = b" \t\r\n" + UTF8_BOM  # a file of nothing else is empty
NON_BLANK = re.compile(b"[^" + re.escape(BLANK_BYTES) + b"]")
# A CR that does not end a CR LF. One regex scan finds it: counting CRs and CR LFs took two scans of each block
# (0.6 s of the 10 M-line bench's plan, which sniffs its 934 single-byte files whole).
LONE_CR = re.compile(b"\r(?!\n)")
# Legal FEC encodings first: a tie between single-byte candidates goes to the legal one.
SINGLE_BYTE_CANDIDATES = ("iso-8859-15", "cp1252", "cp850")
LEGAL_ENCODINGS = {"utf-8", "iso-8859-15", "ascii"}
# Characters of French accounting labels: whichever encoding turns the high bytes into these is the right one.
FRENCH_CHARACTERS = frozenset("àâäçéèêëîïôöùûüÿœæÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ€°«»’")


@dataclass(frozen=True)
class TextFormat:
    encoding: str  # a Python codec name: utf-8, ascii, iso-8859-15, cp1252, cp850
    bom: bool
    line_ending: str  # LF, CRLF, CRCRLF or CR, as seen in the first block
    only_crlf: bool = True  # no CR anywhere but right before a LF: DuckDB can read the lines as they are


@dataclass(frozen=True)
class TextChunk:
    path: Path  # UTF-8, `\n` line ends
    first_line: int  # physical line number of the chunk's first line in the original file (header = 1)
    line_count: int  # newline characters in the chunk


def sniff_text_format(path: Path, block_size: int) -> TextFormat:
    """Read the file once to choose its encoding; raise FileRejected when it is empty or binary. Each test is one
    C-speed scan of the block (the 10 M-line bench spent 12 s here when it decoded and copied every block)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    is_utf8, is_ascii, has_content, head, only_crlf = True, True, False, b"", True
    head_has_cr, head_only_crlf = False, True  # set by the first block
    with path.open("rb") as handle:
        # no bigger than the file: reading a small file into a chunk-sized buffer costs more than the read
        block_size = max(1, min(block_size, os.fstat(handle.fileno()).st_size))
        while block := handle.read(block_size):
            if not head:
                head = block
            has_content = has_content or NON_BLANK.search(block) is not None
            if b"\x00" in block:
                raise FileRejected("the file contains NUL bytes: it is binary or UTF-16, not a FEC text file")
            is_ascii = is_ascii and block.isascii()
            is_utf8 = is_utf8 and (is_ascii or _still_utf8(decoder, block))
            has_cr = b"\r" in block
            # a CR LF cut in two by the block boundary counts as a lone CR: the file is then transcoded
            block_only_crlf = not (has_cr and LONE_CR.search(block))
            if block is head:
                head_has_cr, head_only_crlf = has_cr, block_only_crlf
            only_crlf = only_crlf and block_only_crlf
    if not has_content:
        raise FileRejected("the file is empty")
    is_utf8 = is_utf8 and (is_ascii or _still_utf8(decoder, b"", final=True))
    bom = head.startswith(UTF8_BOM)
    if is_ascii:
        encoding = "ascii"
    elif is_utf8:
        encoding = "utf-8"
    else:
        encoding = guess_single_byte_encoding(path, block_size)
    # a head whose every CR ends a CR LF is CRLF: no need to search it for CR CR LF
    line_ending = "LF" if not head_has_cr else "CRLF" if head_only_crlf else _line_ending(head)
    return TextFormat(encoding, bom and encoding == "utf-8", line_ending, only_crlf)


HEAD_BYTES = 1 << 16


def quick_text_format(data: bytes) -> TextFormat | None:
    """The format of a small file that DuckDB can read as it is (see sniff_text_format), decided without decoding
    every byte: ASCII, or UTF-8 in its first 64 KB, with no CR there but before a LF. None when the file needs
    sniff_text_format: a single-byte encoding, CR or CR CR LF line ends, NUL bytes, no content.

    A fault past the head is caught downstream: DuckDB's read_text refuses a file that is not valid UTF-8, and
    the parse refuses a CR left inside a line (fec_sql.chunk_sql). Both errors name the file, which the registry
    then reads on its own (sniffed whole), so every file ends with the format sniff_text_format gives it. On the
    10 M-line bench, sniffing the 3 140 files whole took 4.7 s, 3 s of it decoding UTF-8 and 3.1 s counting CRs."""
    if b"\x00" in data or NON_BLANK.search(data) is None:
        return None
    head = data[:HEAD_BYTES]
    if LONE_CR.search(head):
        return None  # CR or CR CR LF line ends, or a CR LF cut by the head's end: worth the whole scan
    is_ascii = data.isascii()
    if not is_ascii and not _still_utf8(codecs.getincrementaldecoder("utf-8")(), head):
        return None
    encoding = "ascii" if is_ascii else "utf-8"
    # any CR is then right before a LF, or DuckDB's read stops the batch
    return TextFormat(encoding, encoding == "utf-8" and head.startswith(UTF8_BOM), "CRLF" if b"\r" in data else "LF")


def _still_utf8(decoder, block: bytes, final: bool = False) -> bool:
    pending = decoder.getstate()[0]
    if block.isascii() and not pending and not final:
        return True  # nothing to validate, and much faster than decoding
    try:
        decoder.decode(block, final)
    except UnicodeDecodeError:
        return False
    return True


def _line_ending(head: bytes) -> str:
    if b"\r\r\n" in head:
        return "CRCRLF"
    if b"\r\n" in head:
        return "CRLF"
    return "CR" if b"\r" in head else "LF"


def guess_single_byte_encoding(path: Path, block_size: int) -> str:
    """The candidate reading the most non-ASCII bytes as French letters (and the fewest as control codes)."""
    high_bytes: Counter[int] = Counter()
    with path.open("rb") as handle:
        while block := handle.read(block_size):
            high_bytes.update(block.translate(None, ASCII_BYTES))
    scores = {encoding: _french_score(encoding, high_bytes) for encoding in SINGLE_BYTE_CANDIDATES}
    return max(SINGLE_BYTE_CANDIDATES, key=lambda encoding: scores[encoding])


def _french_score(encoding: str, high_bytes: Counter[int]) -> int | float:
    score = 0
    for byte, count in high_bytes.items():
        try:
            char = bytes([byte]).decode(encoding)
        except UnicodeDecodeError:
            return float("-inf")  # cp1252 leaves five bytes undefined: it cannot read this file
        if char in FRENCH_CHARACTERS:
            score += count
        elif not char.isprintable():
            score -= count
    return score


def normalise_line_ends(text: str) -> str:
    if "\r" not in text:
        return text
    return text.replace("\r\r\n", "\n").replace("\r\n", "\n").replace("\r", "\n")


def codec_of(text_format: TextFormat) -> str:
    """The Python codec that reads the file's text (a UTF-8 BOM is not part of it)."""
    return "utf-8-sig" if text_format.encoding == "utf-8" else text_format.encoding


def transcode_whole(path: Path, text_format: TextFormat, out_path: Path) -> None:
    """The file as UTF-8 at `out_path`, in one piece (for a file read in a batch, smaller than a chunk). Its line
    ends are made LF unless CR LF are its only CRs: the batch's parse drops a line end's CR (fec_sql.chunk_sql), and
    rewriting them was 1.3 s of the 10 M-line bench's 2.8 s of transcoding."""
    text = path.read_bytes().decode(codec_of(text_format))
    out_path.write_text(text if text_format.only_crlf else normalise_line_ends(text), encoding="utf-8", newline="")


def transcode_to_chunks(path: Path, text_format: TextFormat, out_dir: Path,
                        block_size: int) -> Iterator[TextChunk]:
    """Yield UTF-8 chunk files of about `block_size` bytes, each ending at a line end; one block at a time."""
    decoder = codecs.getincrementaldecoder(codec_of(text_format))()
    carry, first_line, index = "", 1, 0
    with path.open("rb") as handle:
        while True:
            block = handle.read(block_size)
            final = not block
            text = carry + decoder.decode(block, final)
            head, carry = _split_complete_lines(text, final)
            if head:
                index += 1
                chunk_path = out_dir / f"chunk_{index:06d}.txt"
                chunk_path.write_text(head, encoding="utf-8", newline="")
                line_count = head.count("\n")
                yield TextChunk(chunk_path, first_line, line_count)
                first_line += line_count
            if final:
                return


def _split_complete_lines(text: str, final: bool) -> tuple[str, str]:
    """(normalised complete lines, text carried to the next block). A final CR may be half of a CR LF."""
    if final:
        return normalise_line_ends(text), ""
    body = text.rstrip("\r")
    pending_cr = text[len(body):]
    body = normalise_line_ends(body)
    cut = body.rfind("\n") + 1
    return body[:cut], body[cut:] + pending_cr
