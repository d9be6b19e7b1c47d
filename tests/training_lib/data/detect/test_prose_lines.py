"""Prose told from code: documents that quote code are text, code that quotes prose is code.

The fixtures in tests/fixtures/prose_code/ are laid out the hard way: documents full of
fenced, literal or bare code (C structs, function signatures, SQL, shell), and source
files full of docstrings, comment blocks and echoed sentences.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from training_lib.data.detect import prose_lines
from training_lib.data.detect.sniff import sniff

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "prose_code"

CASES = [
    ("README.md", "text"),  # Markdown with fenced shell, a C struct and Python
    ("reference.rst", "text"),  # reST reference page quoting function signatures
    ("queries.txt", "text"),  # plain-text notes with SQL statements at column 0
    ("tarsum.txt", "text"),  # man-page-like text with option lists and shell examples
    ("schedule.py", "code"),  # Python module, more docstring than code
    ("ringbuf.h", "code"),  # C header, more comment than code
    ("install.sh", "code"),  # shell script without a shebang, mostly echo lines
]


@pytest.mark.parametrize("name, type_", CASES)
def test_type_under_its_own_name(name: str, type_: str) -> None:
    found = sniff((FIXTURES / name).read_bytes(), name)
    assert (found.type, found.flags) == (type_, [])


@pytest.mark.parametrize("name, type_", CASES)
def test_type_from_content_alone(name: str, type_: str) -> None:
    assert sniff((FIXTURES / name).read_bytes(), "").type == type_


def test_documents_quote_their_code() -> None:
    """The code in a document sits in fences and literal blocks, not among its lines."""
    readme = prose_lines.count_lines((FIXTURES / "README.md").read_text())
    assert readme.code == 0 and readme.quoted >= 25 and readme.markup == 3
    reference = prose_lines.count_lines((FIXTURES / "reference.rst").read_text())
    assert reference.code == 0 and reference.quoted >= 10


def test_source_files_quote_their_prose() -> None:
    """Docstrings and comment blocks are comments, so their sentences do not count."""
    module = prose_lines.count_lines((FIXTURES / "schedule.py").read_text())
    assert module.comment > module.code and module.prose <= 1
    header = prose_lines.count_lines((FIXTURES / "ringbuf.h").read_text())
    assert header.comment > header.code and header.prose == 0


def test_renamed_files_are_still_flagged() -> None:
    """Content decides: a header named .txt is code with a wrong extension, and a
    README named .txt is text without one."""
    header = sniff((FIXTURES / "ringbuf.h").read_bytes(), "ringbuf.txt")
    assert (header.type, header.flags) == ("code", ["wrong_extension"])
    readme = sniff((FIXTURES / "README.md").read_bytes(), "readme.txt")
    assert (readme.type, readme.flags) == ("text", [])


def test_a_script_with_a_long_usage_text_is_code() -> None:
    """A here-document is quoted text: twenty sentences in it do not outvote six statements."""
    usage = "".join(f"The option number {i} changes how the archive is read and written.\n" for i in range(20))
    body = (f'set -e\nif [ -z "$1" ]; then\n    cat <<EOF\n{usage}EOF\n    exit 1\nfi\n'
            'for f in "$@"; do\n    tar -tf "$f" > /dev/null 2>&1 || echo "$f: damaged"\ndone\n')
    assert prose_lines.count_lines(body).prose == 0
    assert sniff(body.encode(), "check.sh").format == "shell"
    assert sniff(("#!/bin/sh\n" + body).encode(), "").format == "shell"


def test_sentence_and_statement_lines() -> None:
    assert prose_lines.is_sentence("The reader keeps at most one record in memory, so it can process")
    assert prose_lines.is_sentence("Use `read_records()` when the [file](https://x.org) is large.")
    assert not prose_lines.is_sentence('echo "Copying the files into place, which takes a while"')
    assert not prose_lines.is_sentence('    "node indices (left_child, right_child, feature) that scikit-learn "')
    assert prose_lines.is_statement("size_t ringbuf_read(ringbuf_t *rb, uint8_t *dst, size_t n);")
    assert prose_lines.is_statement("SELECT name FROM users WHERE id = 1;")
    assert not prose_lines.is_statement(" -- Jane Doe <jane@example.org>  Sun, 27 Sep 2020 16:13:53 +0200")
    assert not prose_lines.is_statement("Requires-Dist: numpy>=1.26")
