"""Text, source code and documents for the demo folder.

- text: Debian's `fortunes` cookies, one per file, in their category folders (when the
  package is missing: docstrings of the Python standard library by package);
- code: source files found on this machine (the Python standard library, C headers,
  Perl modules, shell scripts, JavaScript, SQL, Tcl), by language folder;
- documents: PDF (a small writer with the base-14 Helvetica font) and DOCX (minimal
  WordprocessingML) files holding fortunes of one category each.
"""
from __future__ import annotations

import ast
import glob
import io
import os
import random
import sysconfig
import zipfile
from pathlib import Path
from typing import Iterable

FORTUNES_DIR = Path("/usr/share/games/fortunes")
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a ZIP entry can hold
CATEGORIES = ("computers", "food", "law", "love", "science", "sports")


def fortunes(category: str, limit: int) -> list[str]:
    path = FORTUNES_DIR / category
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    items = [item.strip("\n") for item in text.split("\n%\n")]
    return [item for item in items if len(item.strip()) >= 20][:limit]


def stdlib_docstrings(limit: int) -> dict[str, list[str]]:
    """Fallback corpus: docstrings of stdlib packages, the package being the category."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    out: dict[str, list[str]] = {}
    for package in ("asyncio", "email", "http", "unittest", "xml", "importlib"):
        docs: list[str] = []
        for path in sorted((stdlib / package).rglob("*.py")):
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError, OSError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
                    doc = ast.get_docstring(node)
                    if doc and len(doc) >= 80:
                        docs.append(doc)
            if len(docs) >= limit:
                break
        out[package] = docs[:limit]
    return out


def text_corpus(per_category: int) -> tuple[dict[str, list[str]], str]:
    """({category: [texts]}, source name)."""
    if all((FORTUNES_DIR / c).is_file() for c in CATEGORIES):
        return {c: fortunes(c, per_category) for c in CATEGORIES}, "fortunes"
    return stdlib_docstrings(per_category), "python-stdlib-docstrings"


def write_texts(out: Path, corpus: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    written = []
    for category, texts in corpus.items():
        folder = out / "text" / category
        folder.mkdir(parents=True, exist_ok=True)
        for i, text in enumerate(texts):
            rel = f"text/{category}/{category}_{i:03d}.txt"
            (out / rel).write_text(text + "\n", encoding="utf-8")
            written.append((rel, "plain", category))
    return written


def _code_sources() -> dict[str, tuple[str, list[str]]]:
    """language -> (extension to save with, candidate files)."""
    paths = sysconfig.get_paths()
    stdlib, include = paths["stdlib"], paths["include"]
    shell = [p for p in sorted(glob.glob("/usr/bin/*")) if _shebang(p, ("/sh", "bash"))]
    return {
        "python": ("py", sorted(glob.glob(f"{stdlib}/*.py") + glob.glob(f"{stdlib}/*/*.py"))),
        "c": ("h", sorted(glob.glob(f"{include}/*.h") + glob.glob(f"{include}/cpython/*.h")
                          + glob.glob("/usr/include/*.h"))),
        "perl": ("pm", sorted(glob.glob("/usr/share/perl/5*/*.pm") + glob.glob("/usr/share/perl/5*/*/*.pm")
                              + glob.glob("/usr/lib/x86_64-linux-gnu/perl-base/*.pm")
                              + glob.glob("/usr/lib/x86_64-linux-gnu/perl-base/*/*.pm"))),
        "shell": ("sh", shell),
        "javascript": ("js", sorted(glob.glob("/usr/lib/node_modules/npm/lib/**/*.js", recursive=True)
                                    + glob.glob("/usr/share/javascript/*/*.js"))),
        "sql": ("sql", sorted(glob.glob("/usr/share/postgresql/*/extension/*.sql"))),
        "tcl": ("tcl", sorted(glob.glob(f"{stdlib}/../tcl8*/*.tcl") + glob.glob("/usr/share/tcltk/tcl8*/*.tcl")
                              + glob.glob("/usr/share/tcltk/tk8*/*.tcl"))),
    }


def _shebang(path: str, needles: Iterable[str]) -> bool:
    try:
        with open(path, "rb") as fh:
            first = fh.readline(120)
    except OSError:
        return False
    return first.startswith(b"#!") and any(n.encode() in first for n in needles)


def _usable(path: str) -> bool:
    """Readable UTF-8 source of 600 B..48 KB with human-length lines (not minified)."""
    try:
        if not 600 <= os.path.getsize(path) <= 48_000:
            return False
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    lines = text.splitlines()
    return bool(lines) and max(len(line) for line in lines) < 300


def write_code(out: Path, per_language: int, rng: random.Random,
               min_files: int = 12) -> tuple[list[tuple[str, str, str]], list[str]]:
    """code/<language>/<name>; returns (written, languages left out for want of files)."""
    written, missing = [], []
    for language, (ext, candidates) in _code_sources().items():
        seen: set[str] = set()
        unique = [p for p in candidates if os.path.realpath(p) not in seen and not seen.add(os.path.realpath(p))]
        rng.shuffle(unique)
        chosen = []
        for path in unique:
            if _usable(path):
                chosen.append(path)
            if len(chosen) >= per_language:
                break
        if len(chosen) < min_files:
            missing.append(language)
            continue
        folder = out / "code" / language
        folder.mkdir(parents=True, exist_ok=True)
        names: set[str] = set()
        for path in chosen:
            stem = Path(path).name.rsplit(".", 1)[0] if "." in Path(path).name else Path(path).name
            name = f"{stem}.{ext}"
            while name in names:
                name = f"{stem}_{len(names)}.{ext}"
            names.add(name)
            (folder / name).write_bytes(Path(path).read_bytes())
            written.append((f"code/{language}/{name}", language, language))
    return written, missing


def _pdf_escape(line: str) -> str:
    line = line.encode("latin-1", "replace").decode("latin-1")
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_bytes(title: str, paragraphs: list[str], lines_per_page: int = 48) -> bytes:
    """A small valid PDF 1.4: Helvetica text, Letter pages, a correct xref table."""
    lines: list[str] = []
    for paragraph in paragraphs:
        for raw in paragraph.splitlines() or [""]:
            while len(raw) > 90:
                cut = raw.rfind(" ", 0, 90)
                cut = cut if cut > 20 else 90
                lines.append(raw[:cut])
                raw = raw[cut:].lstrip()
            lines.append(raw)
        lines.append("")
    pages = [lines[i:i + lines_per_page] for i in range(0, len(lines), lines_per_page)] or [[]]
    objects: list[bytes] = [b"", b"", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for n, page_lines in enumerate(pages):
        ops = ["BT", "/F1 16 Tf", "56 740 Td", f"({_pdf_escape(title)}) Tj" if n == 0 else "",
               "/F1 10 Tf", "13 TL", "T* T*"]
        ops += [f"({_pdf_escape(line)}) Tj T*" for line in page_lines]
        ops.append("ET")
        stream = "\n".join(op for op in ops if op).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content_id = len(objects)
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content_id)
        kids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    body = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(body)


_XML_ILLEGAL = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))


def _xml_escape(text: str) -> str:
    text = text.translate(_XML_ILLEGAL)  # fortunes hold a few control characters (BEL, BS)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def docx_bytes(title: str, paragraphs: list[str]) -> bytes:
    """A minimal WordprocessingML package Word and LibreOffice open."""
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    paras = [f'<w:p><w:pPr><w:pStyle w:val="Title"/></w:pPr><w:r><w:t>{_xml_escape(title)}</w:t></w:r></w:p>']
    for paragraph in paragraphs:
        for line in paragraph.splitlines() or [""]:
            paras.append(f'<w:p><w:r><w:t xml:space="preserve">{_xml_escape(line)}</w:t></w:r></w:p>')
    document = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="{w}">'
                f'<w:body>{"".join(paras)}<w:sectPr><w:pgSz w:w="12240" w:h="15840"/></w:sectPr>'
                f'</w:body></w:document>')
    types = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
             '<Default Extension="xml" ContentType="application/xml"/>'
             '<Override PartName="/word/document.xml" ContentType="application/'
             'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="word/document.xml"/></Relationships>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, part in (("[Content_Types].xml", types), ("_rels/.rels", rels),
                           ("word/document.xml", document)):
            # a fixed entry time: writestr(name) would stamp the clock, and the same seed
            # must give byte-identical demo files (dataset fingerprint, test split)
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, part)
    return buffer.getvalue()


def write_documents(out: Path, corpus: dict[str, list[str]], pdfs: int, docxs: int,
                    rng: random.Random) -> list[tuple[str, str, str]]:
    """documents/<category>/doc_<n>.pdf|docx, each holding several texts of the category."""
    written = []
    categories = sorted(corpus)
    for kind, count in (("pdf", pdfs), ("docx", docxs)):
        for n in range(count):
            category = categories[n % len(categories)]
            texts = rng.sample(corpus[category], min(6, len(corpus[category])))
            title = f"{category.title()}: collected sayings"
            rel = f"documents/{category}/{kind}_{n:02d}.{kind}"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            data = pdf_bytes(title, texts) if kind == "pdf" else docx_bytes(title, texts)
            (out / rel).write_bytes(data)
            written.append((rel, kind, category))
    return written
