"""Prose or code, from the shape of a text's lines.

Documents and source files both mix prose with code; they differ in which one is
quoted. A source file quotes its prose in comment syntax (`#`, `//`, `/* */`,
docstrings, POD, here-documents); a document quotes its code in markup (``` fences,
reST `::` literal blocks and directives, indented blocks). So the lines that matter
are the ones outside both kinds of quotes, and there a document's lines are
sentences and a source file's lines are statements.

>>> reads_as_prose("Call the function like this:\\n\\n    int x = f(1);\\n\\n"
...                "It returns the sum of the numbers it was given, or zero when there\\n"
...                "were none. The result is never negative, and it fits in an int.\\n"
...                "Errors are reported through errno, as with the other calls here.\\n")
True
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterator

from training_lib.data.detect import code_language

_FENCE = re.compile(r"^\s*(```|~~~)")
_DIRECTIVE = re.compile(r"^\s*\.\. [\w:-]+::")  # reST ".. code-block:: c" and friends
_HEREDOC = re.compile(r"<<-?\s*['\"]?([A-Za-z_]\w*)['\"]?\s*([;|)&].*)?$")
_BLOCK_OPEN = re.compile(r"(^|\s|;|\))/\*")
_POD = re.compile(r"^=(pod|head\d|over|item|begin|for|encoding)\b")
_LINE_COMMENT = ("#", "//", "/*", "-- ", ";", "REM ", "dnl ", "%", "<!--")
_TRAILING_COMMENT = re.compile(r"\s+(/\*.*\*/|//\s.*|#\s.*)$")
_LIST_MARKER = re.compile(r"^([-*+\u2022]|\d{1,3}[.)]|\(?[a-z0-9]\)|>+)\s+")
_WORD = re.compile(r"^[(\"'`\u2018\u201c]*[A-Za-z][a-z]*(?:['\u2019-][A-Za-z]+)*[)\"'`\u2019\u201d,.;:!?]*$")
# inline markup that stands for one word: `code spans`, [links](url), [refs][], addresses, tags
_INLINE = re.compile(r"``[^`]+``|`[^`\n]+`|\[([^\]\n]+)\]\([^)\s]*\)|\[([^\]\n]+)\]\[[^\]\n]*\]"
                     r"|<[^<>\s]+@[^<>\s]+>|<?\w+://[^\s>]+>?|</?[A-Za-z][^<>]*>")
# a mail-style header ("Requires-Dist: numpy>=1"): a field, not a statement
_HEADER = re.compile(r"^[A-Z][A-Za-z]*(-[A-Za-z]+)*: \S")
# a line that is one string literal: a wrapped message inside code
_STRING = re.compile(r"""^[rbfuRBFU]{0,2}(["']).*\1\s*[,)+\\]*$""")
# a line that prints or calls: `echo "Done."`, `print("...")`, `die "..."`
_COMMAND = re.compile(r"^(echo|printf|print|puts|say|die|warn|croak|confess|gettext|eval_gettext)\b\s*[(\"'$-]"
                      r"|^[A-Za-z_][\w.]*\(")
_OPERATOR = re.compile(r"[;{}]\s*$|^[{}]|[\w)\]] ?[-+*/|&!=<>:]?= ?[\w\"'(\[-]|->|=>|&&|\|\||\$[\w{(]"
                       r"|\w\([^)]*\)|\w::\w")
_CODE_CHARS = frozenset("{}[];=<>$\\|")
_DATA_SECTION = ("__END__", "__DATA__")  # Perl: what follows is data, not code
_CLOSES_ON_ITS_LINE = ('"""', "'''", "*/", "-->")


@dataclass(frozen=True)
class LineCounts:
    prose: int = 0  # sentence lines outside comments, strings and quoted blocks
    code: int = 0  # statement lines outside the document's quoted blocks
    quoted: int = 0  # lines in fenced, directive and literal blocks
    comment: int = 0  # lines in comments, docstrings, POD and here-documents
    markup: int = 0  # fences, directives and "::" lines: a document's own syntax


def _plain(s: str) -> str:
    return _INLINE.sub(lambda m: m.group(1) or m.group(2) or "x", s)


def is_sentence(line: str) -> bool:
    """A line of running text: mostly ordinary words, little code punctuation."""
    s = _LIST_MARKER.sub("", _TRAILING_COMMENT.sub("", line.strip()), count=1)
    if _STRING.match(s) or _COMMAND.match(s) or code_language.line_language(s) is not None:
        return False
    s = _plain(s)
    tokens = s.split()
    words = sum(bool(_WORD.match(t)) for t in tokens)
    if len(tokens) < 5 or words < 4 or words < 0.6 * len(tokens):
        return False
    punctuation = sum(c in _CODE_CHARS for c in s)
    return punctuation <= 2 and not s.endswith(("{", ";"))


def is_statement(line: str) -> bool:
    """A line of code: a language's line shape, or operators and call syntax that the
    words around them do not explain (an e-mail address or an HTML tag is not code)."""
    s = _TRAILING_COMMENT.sub("", line.strip())
    if code_language.line_language(s) is not None:
        return True
    s = _plain(s)
    if _HEADER.match(s) or not _OPERATOR.search(s):
        return False
    tokens = s.split()
    words = sum(bool(_WORD.match(t)) for t in tokens)
    return words < 0.6 * len(tokens) or s.endswith(("{", "}", ";"))


def count_lines(text: str, max_lines: int = 400) -> LineCounts:
    """How many lines of `text` are prose, code, quoted by the document, commented out
    or the document's own markup (see `classify`)."""
    counts = Counter(kind for kind, _ in classify(text, max_lines))
    return LineCounts(counts["prose"], counts["code"], counts["quoted"], counts["comment"],
                      counts["markup"])


def classify(text: str, max_lines: int = 400) -> Iterator[tuple[str, str]]:
    """(kind, line) for the first `max_lines` lines; kind is prose, code, quoted, comment,
    markup or other (a heading, a short phrase, a blank line).

    Indented blocks are a document's literal blocks when they start after a blank line,
    deeper than the last sentence, with a line that is not a sentence; they end at a line
    no deeper than that sentence, or at a sentence no deeper than the block's first line.
    """
    closer: str | None = None  # what ends the comment, string or fence we are in
    literal: int | None = None  # a reST literal block / directive body is deeper than this
    block: int | None = None  # indent of the indented block we are in
    base = 0  # indent of the last sentence
    after_blank = True
    for raw in text.splitlines()[:max_lines]:
        line = raw.expandtabs(8)
        s = line.strip()
        indent = len(line) - len(line.lstrip())
        if closer is not None:
            if closer == "```":
                fence = _FENCE.match(line)
                # "```lang" cannot close a fence: the previous one was left open, this one opens
                reopens = fence is not None and line[fence.end():].strip() != ""
                closer = None if fence and not reopens else closer
                yield "markup" if reopens else "quoted", raw
                continue
            yield "comment", raw
            if closer == "=cut":
                closer = None if s.startswith("=cut") else closer
            elif closer in _CLOSES_ON_ITS_LINE:
                closer = None if closer in s else closer
            elif s == closer:
                closer = None
            continue
        if not s:
            after_blank = True
            yield "other", raw
            continue
        was_blank, after_blank = after_blank, False
        if literal is not None:
            if indent > literal:
                yield "quoted", raw
                continue
            literal = None
        if s.startswith(_LINE_COMMENT) and code_language.line_language(s) is None:
            closer = _opens_block(s) if s.startswith(("/*", "<!--")) else None
            yield "comment", raw
            continue
        if s in _DATA_SECTION or (closer := _opens_block(s)) is not None:
            closer = closer or "\0"  # nothing closes a data section
            yield "comment", raw  # a comment, docstring or here-document, even in a literal block
            continue
        if block is not None:
            if indent > base and not (indent <= block and is_sentence(line)):
                yield "quoted", raw
                continue
            block = None
        if _FENCE.match(line):
            closer = "```"
            yield "markup", raw
        elif _POD.match(line):
            closer = "=cut"
            yield "comment", raw
        elif _DIRECTIVE.match(line) or (s.endswith("::") and not s.endswith(":::")):
            literal = indent
            yield "markup", raw
        elif is_sentence(line):
            base = indent
            yield "prose", raw
        elif was_blank and indent > base and indent >= 2:
            block = indent  # an indented block after a blank line: a document's literal block
            yield "quoted", raw
        elif is_statement(line):
            yield "code", raw
        else:
            yield "other", raw


def _opens_block(s: str) -> str | None:
    """The closing marker of a comment, docstring or here-document that starts on this
    stripped line and does not end on it, else None."""
    for quote in ('"""', "'''"):
        if s.count(quote) % 2:
            return quote
    match = _BLOCK_OPEN.search(s)
    if match and "*/" not in s[match.end():]:
        return "*/"
    if "<!--" in s and "-->" not in s.split("<!--", 1)[1]:
        return "-->"
    heredoc = _HEREDOC.search(s)
    if heredoc:
        return heredoc.group(1)
    return None


def reads_as_prose(text: str) -> bool:
    """True when `text` is a document that quotes code rather than code that quotes prose:
    outside the quoted regions, half as many sentence lines again as statement lines
    (fences and literal-block markers count twice with the sentences). On real files
    source code stays under 0.7 sentences per statement, documents that quote code
    start at about 1.6."""
    counts = count_lines(text)
    evidence = counts.prose + 2 * counts.markup
    return evidence >= 4 and evidence >= 1.5 * counts.code
