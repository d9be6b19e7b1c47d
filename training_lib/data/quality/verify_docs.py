"""Decoder checks for documents, archives, JSON, tables and text.

Same contract as `verify_media`: (meta, flags, type override or None), never raising
for a bad file. Archives are decompressed in bounded steps so a zip or gzip bomb is
flagged `bomb` once it passes the limit instead of filling memory.
"""
from __future__ import annotations

import bz2
import csv
import io
import json
import logging
import lzma
import re
import tarfile
import zipfile
import zlib
from collections import Counter
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from training_lib.data import records as rec
from training_lib.data.decode import decode_text, is_utf8
from training_lib.data.quality.duplicates import text_key
from training_lib.data.quality.scores import decode_failure

if TYPE_CHECKING:
    from training_lib.data.quality.limits import QualityLimits

log = logging.getLogger(__name__)

Result = tuple[dict[str, Any], list[str], str | None]
_CHUNK = 1 << 20


class _Bomb(Exception):
    pass


def _decoded(data: bytes, meta: dict[str, Any]) -> tuple[str, list[str], dict[str, Any]]:
    """(text, encoding flags, meta) of a text file in the encoding the sniffer recorded,
    decoded as the feature cache and the loaders will decode it (`decode.decode_text`).

    Text that is not UTF-8 is read in its own encoding and flagged `non_utf8_encoding`
    (still usable); characters no decoder fits are `undecodable_bytes`.
    """
    encoding = meta.get("encoding")
    text, bad = decode_text(data, encoding)
    flags: list[str] = []
    out: dict[str, Any] = {}
    if not is_utf8(encoding):
        flags.append("non_utf8_encoding")
    if bad:
        flags.append("undecodable_bytes")
        out["n_undecodable"] = bad
    return text, flags, out


def check_text(data: bytes, fmt: str, meta: dict[str, Any], limits: "QualityLimits") -> Result:
    text, flags, out = _decoded(data, meta)
    out.update(n_chars=len(text), n_lines=text.count("\n") + 1)
    if len(text.strip()) < limits.min_text_chars:
        flags.append("too_short")
    key = text_key(text, limits.min_text_chars)
    if key is not None:
        out["text_key"] = key
    return out, flags, None


def check_json(data: bytes, fmt: str, meta: dict[str, Any], limits: "QualityLimits") -> Result:
    text, flags, decoded = _decoded(data, meta)
    items: list[Any]
    bad_lines = 0
    if fmt == "jsonl":
        items = []
        lines = [line for line in text.splitlines() if line.strip()]
        for line in lines:
            try:
                items.append(json.loads(line))
            except ValueError:
                bad_lines += 1
        if not lines or bad_lines > 0.1 * len(lines):
            return {"n_invalid_lines": bad_lines}, flags + ["invalid_json"], None
        if bad_lines:
            flags.append("invalid_lines")
    else:
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError) as e:
            return {"error": str(e)[:200]}, flags + ["invalid_json"], None
        items = rec.records_in(doc)
    formats = Counter(rec.record_format(item) for item in items)
    out: dict[str, Any] = {"n_records": len(items), **decoded}
    if bad_lines:
        out["n_invalid_lines"] = bad_lines
    matched = {name: n for name, n in formats.items() if name is not None}
    if matched:
        best, n_best = max(matched.items(), key=lambda kv: kv[1])
        out["record_format"] = best
        if n_best < len(items):
            out["n_unmatched_records"] = len(items) - n_best
            if n_best < 0.9 * len(items):
                flags.append("unmatched_records")
    else:
        flags.append("no_record_format")
        # what the records hold instead: a preset's `models.<m>.fields` can name them
        keys = sorted({str(key)[:100] for item in items[:100] if isinstance(item, dict)
                       for key in item})
        if keys:
            out["record_keys"] = keys[:50]
    return out, flags, None


_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def check_table(data: bytes, fmt: str, meta: dict[str, Any], limits: "QualityLimits") -> Result:
    if fmt == "parquet":
        return _parquet(data)
    if fmt in ("xlsx", "ods"):
        return check_archive(data, "zip", meta, limits)[0], [], None
    if fmt == "xls":
        return {}, [], None
    text, flags, decoded = _decoded(data, meta)
    delimiter = meta.get("delimiter") or ("\t" if fmt == "tsv" else ",")
    try:
        rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]
    except csv.Error as e:
        return {"error": str(e)[:200]}, ["corrupt"], None
    if not rows:
        return {"n_rows": 0, "columns": [], **decoded}, flags + ["too_short"], None
    widths = Counter(len(row) for row in rows)
    n_cols = widths.most_common(1)[0][0]
    ragged = sum(n for width, n in widths.items() if width != n_cols)
    header = rows[0]
    has_header = not any(_NUMBER.match(cell) for cell in header) and (
        len(rows) < 2 or any(_NUMBER.match(cell) for cell in rows[1]) or len(set(header)) == len(header))
    columns = header if has_header else [f"column_{i}" for i in range(n_cols)]
    n_rows = len(rows) - (1 if has_header else 0)
    out = {"columns": columns, "n_rows": n_rows, "delimiter": delimiter, "header": has_header,
           **decoded}
    if ragged:
        out["n_ragged_rows"] = ragged
        if ragged > max(1, 0.01 * len(rows)):
            flags.append("ragged_rows")
    if n_rows < 1:
        flags.append("too_short")
    return out, flags, None


def _parquet(data: bytes) -> Result:
    try:
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(io.BytesIO(data)).metadata
        return {"columns": list(meta.schema.names), "n_rows": meta.num_rows}, [], None
    except Exception as e:  # noqa: BLE001 - every reader error is a verdict on the file
        return {}, [decode_failure(e)], None


def _bounded(decompress: Any, data: bytes, limits: "QualityLimits") -> int:
    """Total output of a streaming decompressor, raising _Bomb past the limit."""
    total = 0
    view = memoryview(data)
    for start in range(0, len(data), _CHUNK):
        out = decompress.decompress(view[start:start + _CHUNK])
        total += len(out)
        while getattr(decompress, "unconsumed_tail", b""):
            out = decompress.decompress(decompress.unconsumed_tail)
            total += len(out)
        if total > limits.max_unpacked_bytes:
            raise _Bomb(total)
    if getattr(decompress, "eof", True) is False:
        raise EOFError("compressed stream ends before its end marker (truncated)")
    return total


def check_archive(data: bytes, fmt: str, meta: dict[str, Any], limits: "QualityLimits") -> Result:
    try:
        if fmt in ("zip", "jar", "docx", "pptx", "xlsx", "odt", "odp", "ods", "epub"):
            return _zip(data, limits)
        if fmt in ("tar", "tar.gz", "tar.bz2", "tar.xz"):
            return _tar(data, limits)
        if fmt == "gzip":
            out = _bounded(zlib.decompressobj(16 + zlib.MAX_WBITS), data, limits)
        elif fmt == "bzip2":
            out = _bounded(bz2.BZ2Decompressor(), data, limits)
        elif fmt == "xz":
            out = _bounded(lzma.LZMADecompressor(), data, limits)
        else:
            return {"verified": False}, [], None
        return {"unpacked_bytes": out}, [], None
    except _Bomb as e:
        return {"unpacked_bytes_over": int(e.args[0])}, ["bomb"], None
    except Exception as e:  # noqa: BLE001 - every reader error is a verdict on the file
        log.debug("archive check failed: %s", e)
        return {}, [decode_failure(e)], None


def _zip(data: bytes, limits: "QualityLimits") -> Result:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        unpacked = sum(info.file_size for info in infos)
        meta: dict[str, Any] = {"n_members": len(infos), "unpacked_bytes": unpacked}
        if unpacked > limits.max_unpacked_bytes:
            return meta, ["bomb"], None
        bad = zf.testzip()
        if bad is not None:
            meta["bad_member"] = bad
            return meta, ["corrupt"], None
        names = set(zf.namelist())
        if "word/document.xml" in names:
            meta.update(_docx(zf))
        elif "ppt/presentation.xml" in names:
            meta.update(_pptx(zf, names))
    return meta, [], None


def _tar(data: bytes, limits: "QualityLimits") -> Result:
    total = 0
    members = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
        for member in tf:
            members += 1
            if member.isfile():
                fh = tf.extractfile(member)
                while fh is not None and (chunk := fh.read(_CHUNK)):
                    total += len(chunk)
                    if total > limits.max_unpacked_bytes:
                        raise _Bomb(total)
    return {"n_members": members, "unpacked_bytes": total}, [], None


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _docx(zf: zipfile.ZipFile) -> dict[str, Any]:
    root = ElementTree.fromstring(zf.read("word/document.xml"))
    paragraphs = ["".join(t.text or "" for t in p.iter(f"{_W}t")) for p in root.iter(f"{_W}p")]
    meta: dict[str, Any] = {"n_paragraphs": len(paragraphs),
                            "n_chars": sum(len(p) for p in paragraphs),
                            "width": 612.0, "height": 792.0}  # Letter, Word's default
    size = root.find(f".//{_W}pgSz")
    if size is not None and size.get(f"{_W}w") and size.get(f"{_W}h"):
        meta["width"] = int(size.get(f"{_W}w")) / 20  # twentieths of a point
        meta["height"] = int(size.get(f"{_W}h")) / 20
    return meta


def _pptx(zf: zipfile.ZipFile, names: set[str]) -> dict[str, Any]:
    root = ElementTree.fromstring(zf.read("ppt/presentation.xml"))
    meta: dict[str, Any] = {"pages": sum(1 for n in names if re.fullmatch(r"ppt/slides/slide\d+\.xml", n))}
    for el in root.iter():
        if el.tag.endswith("}sldSz"):
            meta["width"] = int(el.get("cx", 0)) / 12700  # EMU per point
            meta["height"] = int(el.get("cy", 0)) / 12700
    return meta


def check_document(data: bytes, fmt: str, meta: dict[str, Any], limits: "QualityLimits") -> Result:
    if fmt == "pdf":
        return _pdf(data, limits)
    if fmt in ("docx", "pptx", "odt", "odp", "epub"):
        return check_archive(data, fmt, meta, limits)
    if fmt == "rtf":
        return check_text(data, "plain", meta, limits)
    return {"verified": False}, [], None


def _pdf(data: bytes, limits: "QualityLimits") -> Result:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except Exception as e:  # noqa: BLE001 - every reader error is a verdict on the file
        return {}, [decode_failure(e)], None
    try:
        n_pages = len(pdf)
        if n_pages == 0:
            return {"pages": 0}, ["corrupt"], None
        page = pdf[0]
        width, height = page.get_size()
        textpage = page.get_textpage()
        n_chars = textpage.count_chars()
        textpage.close()
        page.close()
        return {"pages": n_pages, "width": round(width, 1), "height": round(height, 1),
                "n_chars_first_page": n_chars}, [], None
    except Exception as e:  # noqa: BLE001
        return {}, [decode_failure(e)], None
    finally:
        pdf.close()
