"""Text: is it text at all, in which encoding, and which structure does it have.

Structures, strongest evidence first: JSON / JSON Lines, delimited tables (CSV, TSV,
semicolon or pipe separated), source code (see `code_language`), Markdown, plain text.
Code that a document quotes (fences, literal blocks, SQL between paragraphs) does not
make it code: `prose_lines` reads the lines outside the quotes first.
The extension breaks ties: text that would pass as two structures takes the one its
name claims, and `wrong_extension` is only raised on clear evidence.
"""
from __future__ import annotations

import codecs
import csv
import json
import re
from dataclasses import dataclass, field
from typing import Any

from training_lib.data.decode import guess_encoding
from training_lib.data.detect import code_language, prose_lines

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# bytes that never occur in text (NUL aside, which UTF-16 handles): C0 controls but
# tab, LF, VT, FF, CR and ESC
_BINARY_BYTES = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 27)) + b"\x7f"
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_LEGACY_PUNCT = frozenset("\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u2022\u20ac\u00a3\u00a7"
                          "\u00b0\u00b1\u00d7\u00f7\u00ab\u00bb\u00a9\u00ae\u00a0\u00bf\u00a1"
                          "\u00b7\u00b2\u00b3\u00bd\u00bc\u00be\u00b5\u2122")


@dataclass
class TextGuess:
    type: str  # text | json | tabular | code | image (svg) | unknown
    format: str
    encoding: str | None = None
    confident: bool = True
    flags: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def decode_sample(data: bytes, complete: bool) -> tuple[str | None, str | None, bool]:
    """(text, encoding, has_undecodable_bytes) of a sample; text None when it is binary."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            text = codecs.getincrementaldecoder(name)("replace").decode(data, final=complete)
            return text.lstrip("\ufeff"), name.replace("-sig", ""), "\ufffd" in text
    nul = data.count(0)
    if nul:
        decoded = _decode_utf16_without_bom(data, nul, complete)
        if decoded[0] is not None or nul > max(2, len(data) // 1000):
            return decoded
        # a stray NUL or two in a text file (a crashed writer): text with a damaged byte
        text, encoding, _ = decode_sample(data.replace(b"\x00", b""), complete)
        return text, encoding, text is not None
    # terminal art in old text files uses BEL and backspace; binaries have ~10% such bytes
    controls = len(data) - len(data.translate(None, _BINARY_BYTES))
    if controls > 0.10 * len(data):
        return None, None, False
    try:
        text = codecs.getincrementaldecoder("utf-8")("strict").decode(data, final=complete)
        return text, "utf-8", False
    except UnicodeDecodeError:
        pass
    high = sum(1 for b in data if b >= 0x80)
    if controls > 0.03 * len(data):
        return None, None, False
    damaged_utf8 = _mostly_utf8(data, high)
    if high > 0.3 * len(data) and not damaged_utf8:
        # a non-Latin script in a legacy code page (cp1251, Shift-JIS, ...), or binary
        return _guessed(data, complete) or (None, None, False)
    text = data.decode("utf-8", "replace")
    if not complete:  # a multi-byte character cut by the sample's end is not an error
        text = text.rstrip("\ufffd")
    if not damaged_utf8:
        legacy = _legacy(data)
        if legacy is not None:
            return legacy, "cp1252", False
        guessed = _guessed(data, complete)
        if guessed is not None:
            return guessed
    return text, "utf-8", "\ufffd" in text


def _mostly_utf8(data: bytes, high: int) -> bool:
    """Most non-ASCII bytes form valid UTF-8 sequences: UTF-8 with damaged bytes."""
    covered = sum(m.end() - m.start() for m in _UTF8_SEQUENCE.finditer(data))
    return high > 0 and covered >= 0.5 * high


def _guessed(data: bytes, complete: bool) -> tuple[str, str, bool] | None:
    """(text, encoding, False) in the code page charset-normalizer finds, or None."""
    name = guess_encoding(data, complete)
    if name is None:
        return None
    text = codecs.getincrementaldecoder(name)("replace").decode(data, final=complete)
    return text, name, False


def _decode_utf16_without_bom(data: bytes, nul: int, complete: bool) -> tuple[str | None, str | None, bool]:
    even, odd = data[0::2].count(0), data[1::2].count(0)
    half = len(data) // 2 or 1
    if odd > 0.3 * half and even < 0.02 * half:
        name = "utf-16-le"
    elif even > 0.3 * half and odd < 0.02 * half:
        name = "utf-16-be"
    else:
        return None, None, False
    text = codecs.getincrementaldecoder(name)("replace").decode(data[:len(data) // 2 * 2], final=complete)
    printable = sum(ch.isprintable() or ch in "\t\r\n" for ch in text[:2000])
    if printable < 0.95 * min(len(text), 2000):
        return None, None, False
    return text, name, "\ufffd" in text


def _legacy(data: bytes) -> str | None:
    """Text in a single-byte Western encoding (cp1252/latin-1), or None when the non-ASCII
    bytes look like damage rather than letters: a legacy text's high bytes are isolated
    letters or typographic punctuation next to ordinary letters."""
    if any(b in _CP1252_UNDEFINED for b in data) or _UTF8_SEQUENCE.search(data):
        return None  # valid UTF-8 sequences next to invalid bytes: damaged UTF-8, not cp1252
    text = data.decode("cp1252", "replace")
    run = 0
    for i, ch in enumerate(text):
        if ord(ch) < 128:
            run = 0
            continue
        run += 1
        if run > 2:
            return None
        if ch in _LEGACY_PUNCT:
            continue
        if not ch.isalpha():
            return None
        neighbours = text[max(i - 1, 0):i] + text[i + 1:i + 2]
        if not any(c.isascii() and c.isalpha() for c in neighbours) and run == 1 and \
                not any(ord(c) >= 128 and c.isalpha() for c in neighbours):
            return None
    return text


# a heading not next to another "#" line (a block of "# ..." lines is code comments)
_MD_HEADING = re.compile(r"(?:\A|\n)(?!#)[^\n]*\n#{1,6} +\S[^\n]*\n(?!#)|\A#{1,6} +\S[^\n]*\n(?!#)")
_MD_OTHER = re.compile(r"^\s*(```|~~~)|\[[^\]\n]+\]\([^)\n]+\)|^\s{0,3}([-*+]|\d+\.) +\S|"
                       r"^\s*> |\*\*\S[^*\n]*\*\*|^\|.*\|\s*$|^(===+|---+)\s*$|`[^`\n]+`", re.MULTILINE)


def _markdown_score(text: str) -> int:
    headings = len(_MD_HEADING.findall(text[:4096]))
    other = sum(1 for _ in zip(range(12), _MD_OTHER.finditer(text, 0, 4096)))
    return headings * 2 + other if headings or other >= 3 else 0


def _json_guess(text: str, complete: bool) -> TextGuess | None:
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    if complete:
        try:
            json.loads(stripped)
            return TextGuess("json", "json")
        except (ValueError, RecursionError) as e:
            error = e
    else:
        error = None
    lines = [line.strip() for line in stripped.splitlines()[:20] if line.strip()]
    if not complete and len(lines) > 1:
        lines = lines[:-1]
    if len(lines) >= 2 or (complete and len(lines) == 1):
        good = 0
        for line in lines:
            try:
                value = json.loads(line)
            except ValueError:
                continue
            good += isinstance(value, (dict, list))
        if good == len(lines):
            return TextGuess("json", "jsonl")
        if good >= max(2, len(lines) // 2) and lines[0][0] == "{":
            # a whole file is checked line by line next (verify_docs.check_json): a few
            # bad lines cost a little there, and the loaders keep the good ones
            return TextGuess("json", "jsonl", flags=[] if complete else ["invalid_json"])
    # Broken JSON (truncated, a bad line) still starts like JSON: '"key":' soon after the brace.
    if re.match(r'[\[{]\s*("[^"\n]{0,200}"\s*:|\{|\[|"|-?\d|true|false|null)', stripped):
        if error is None:  # a sample of a big file: the deep check parses all of it
            return TextGuess("json", "json")
        return TextGuess("json", "json", flags=["invalid_json"])
    return None


_DELIMITERS = (",", "\t", ";", "|")
_NUMERIC = re.compile(r"^\s*[-+]?[\d.,]+%?\s*$")


def _table_guess(text: str, complete: bool, claim_type: str | None) -> TextGuess | None:
    """A delimited table: every sampled row splits into the same number (>= 2) of cells.

    Prose can do that by chance (a poem with one comma per line), so cells that read
    like phrases, indentation by tabs and sentence endings count against a table, and
    a file named as text needs more rows to be called a table.
    """
    hinted = claim_type == "tabular"
    lines = text.splitlines()[:30]
    if not complete and len(lines) > 1:
        lines = lines[:-1]
    lines = [line for line in lines if line.strip()]
    min_rows = 2 if hinted else 3
    if len(lines) < min_rows:
        return None
    best: TextGuess | None = None
    for delim in _DELIMITERS:
        if delim not in lines[0]:
            continue
        try:
            rows = list(csv.reader(lines, delimiter=delim))
        except csv.Error:
            continue
        widths = {len(row) for row in rows}
        # a quoted cell holding a newline splits a row in this line-wise sample
        if len(widths) != 1 and (not hinted or len(widths) > 2):
            continue
        n_cols = max(widths)
        if n_cols < 2:
            continue
        if not hinted and _reads_like_prose(rows, lines, delim, claim_type):
            continue
        fmt = "tsv" if delim == "\t" else "csv"
        guess = TextGuess("tabular", fmt, confident=delim == "\t" or n_cols >= 3 or hinted,
                          meta={"delimiter": delim, "columns_in_sample": n_cols})
        if best is None or n_cols > best.meta["columns_in_sample"]:
            best = guess
    return best


def _reads_like_prose(rows: list[list[str]], lines: list[str], delim: str,
                      claim_type: str | None) -> bool:
    cells = [cell for row in rows for cell in row]
    if all(row[0].rstrip().endswith(":") for row in rows):  # "Name:<TAB>line" dialogue
        return True
    if claim_type in ("text", "code"):  # a file named as text needs a clearer table
        numeric = sum(bool(_NUMERIC.match(cell)) for cell in cells)
        if (len(rows[0]) < 3 or len(rows) < 5) and numeric < 0.25 * len(cells):
            return True
    phrases = sum(len(cell.split()) >= 3 for cell in cells)
    if phrases > 0.3 * len(cells):
        return True
    if all(line.startswith(delim) for line in lines):  # tab-indented text, not a first column
        return True
    if delim == ",":
        endings = sum(line.rstrip()[-1:] in ".?!:;" for line in lines)
        if endings > len(lines) // 2:
            return True
    return False


def guess(data: bytes, complete: bool, claim: tuple[str, str] | None,
          code_hint: str | None = None) -> TextGuess:
    """Classify a text sample. `claim` is (type, family) from the file name or None."""
    text, encoding, bad_bytes = decode_sample(data, complete)
    if text is None:
        return TextGuess("unknown", "binary", confident=True)
    flags = ["undecodable_bytes"] if bad_bytes else []
    claim_type = claim[0] if claim else None
    result = _structure(text, complete, claim_type, code_hint)
    result.encoding = encoding
    result.flags = flags + result.flags
    return result


def _structure(text: str, complete: bool, claim_type: str | None, code_hint: str | None) -> TextGuess:
    head = text[:8192]
    lowered = head.lstrip()[:512].lower()
    if lowered.startswith("{\\rtf"):
        return TextGuess("document", "rtf")
    if "<svg" in lowered and (lowered.startswith("<svg") or lowered.startswith("<?xml")):
        return TextGuess("image", "svg")
    # a big JSON file is judged from its head here; the decoder check parses all of it
    whole = complete and len(text) <= 65536
    as_json = _json_guess(text if whole else head, whole)
    if as_json is not None:
        return as_json
    language, score = code_language.detect(head) if _codeish(head) else (None, 0.0)
    # a document quoting code (README, reference page): outside its quotes it is sentences;
    # a shebang or a name that claims code outweighs that
    if language is not None and score < 100 and claim_type != "code" and \
            prose_lines.reads_as_prose(head):
        language, score = None, 0.0
    if claim_type == "code" and code_hint and (language is None or score < 12):
        return TextGuess("code", code_hint, meta={"language": code_hint})
    table = None
    if language is None or score < 12:
        table = _table_guess(head, complete, claim_type)
    if table is not None and (table.confident or claim_type in (None, "tabular")):
        return table
    if language is not None:
        strong = score >= 12
        if strong or claim_type in (None, "code"):
            return TextGuess("code", language, confident=strong, meta={"language": language})
    if claim_type == "json":  # JSON's syntax is strict: a .json file that is not JSON is broken
        return TextGuess("json", "json", flags=["invalid_json"])
    if claim_type == "tabular":
        return TextGuess("tabular", "csv", confident=False, meta={"delimiter": ",", "columns_in_sample": 1})
    md = _markdown_score(head)
    if md >= 3:
        return TextGuess("text", "markdown", confident=md >= 6)
    return TextGuess("text", "plain", confident=claim_type not in ("code", "json", "tabular"))


_CODE_CHARS = "{};=()<>$#@[]"
_CODE_LINE = re.compile(r"^(import [\w.]+|from [\w.]+ import |def \w+\(|class \w+[(:]|#include |package [\w.]+|"
                        r"func \w|use [\w:]+;|my [$@%]|sub \w+|function \w*\(|(const|let|var) \w+ =|"
                        r"public |private |(CREATE|SELECT|INSERT) )", re.MULTILINE)


def _codeish(text: str) -> bool:
    """A quick pre-filter: prose rarely uses code punctuation densely or starts lines with
    `import x` / `def f(`; code nearly always does one or the other."""
    sample = text[:8192]
    if sample.startswith(("#!", "<?", "<!")):
        return True
    n = sum(sample.count(c) for c in _CODE_CHARS)
    return n >= 0.01 * len(sample) + 2 or _CODE_LINE.search(sample) is not None
