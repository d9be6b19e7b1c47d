"""Which programming language a text is written in, from shebangs and line shapes.

One pass over the first lines: each line's first word selects a few cheap tests
(`def` ending in ":" is Python, `my $x` is Perl, `#include` is C), and a handful of
idioms are counted over the sample (`self.`, `std::`, `:=`, `=>`). Each (language,
idiom) pair is capped so one repeated construct cannot win alone. A shebang or an
unmistakable opening (`<?php`, `<?xml`, `<!DOCTYPE html>`) decides at once.
"""
from __future__ import annotations

import re
from typing import Callable

_SHEBANGS = (
    ("python", "python"), ("bash", "shell"), ("/sh", "shell"), ("zsh", "shell"),
    ("ksh", "shell"), ("dash", "shell"), ("perl", "perl"), ("ruby", "ruby"), ("node", "javascript"),
    ("php", "php"), ("lua", "lua"), ("tclsh", "tcl"), ("wish", "tcl"), ("Rscript", "r"),
    ("awk", "awk"), ("make", "make"), ("pwsh", "powershell"),
)
_OPENINGS = (("<?php", "php"), ("<?xml", "xml"), ("<!doctype html", "html"), ("<html", "html"))

Test = Callable[[str], bool]
_ALWAYS: Test = lambda s: True  # noqa: E731


def _ends(*suffixes: str) -> Test:
    return lambda s: s.rstrip().endswith(suffixes)


def _has(*needles: str) -> Test:
    return lambda s: all(n in s for n in needles)


def _any(*needles: str) -> Test:
    return lambda s: any(n in s for n in needles)


def _re(pattern: str) -> Test:
    return re.compile(pattern).search  # type: ignore[return-value]


_C_TYPES = ("void", "int", "char", "long", "double", "float", "unsigned", "static", "extern",
            "const", "struct", "size_t", "bool", "inline", "uint8_t", "uint32_t", "int64_t")
_C_FUNC = _re(r"^[\w\s\*]+\b\w+\s*\([^;]*\)?\s*[{;]?\s*$")

# first word of a line -> [(language, weight, test on the stripped line)]
_FIRST: dict[str, list[tuple[str, float, Test]]] = {
    "def": [("python", 3, _re(r"\)\s*(->.*)?:\s*(#.*)?$")), ("ruby", 2, lambda s: not s.rstrip().endswith(":"))],
    "class": [("python", 3, _ends(":")), ("java", 1, _ends("{")), ("cpp", 1, _ends("{")),
              ("ruby", 1, lambda s: not s.rstrip().endswith((":", "{", ";")))],
    "import": [("python", 3, _re(r"^import [\w.]+( as \w+)?(, [\w.]+)*\s*$")),
               ("java", 4, _re(r"^import (static )?[\w.]+(\.\*)?;\s*$")),
               ("javascript", 3, _re(r"^import .*(from )?['\"][^'\"]+['\"];?\s*$")),
               ("go", 3, _re(r"^import (\(|\"[\w/.-]+\")\s*$"))],
    "from": [("python", 3, _re(r"^from [\w.]+ import "))],
    "elif": [("python", 2, _ends(":")), ("shell", 2, _has("then"))],
    "else:": [("python", 1, _ALWAYS)], "try:": [("python", 2, _ALWAYS)],
    "finally:": [("python", 2, _ALWAYS)], "except": [("python", 2, _ends(":"))],
    "except:": [("python", 2, _ALWAYS)], "with": [("python", 2, _re(r" as \w+:$"))],
    "raise": [("python", 1, _ALWAYS)], "pass": [("python", 1, _ALWAYS)],
    "yield": [("python", 1, _ALWAYS)], "lambda": [("python", 1, _ALWAYS)],
    "#include": [("c", 4, _ALWAYS), ("cpp", 3, _re(r"<(iostream|vector|string|memory|map|algorithm)>"))],
    "#define": [("c", 2, _ALWAYS)], "#ifdef": [("c", 2, _ALWAYS)], "#ifndef": [("c", 2, _ALWAYS)],
    "#endif": [("c", 2, _ALWAYS)], "#if": [("c", 2, _ALWAYS)], "#pragma": [("c", 2, _ALWAYS)],
    "#undef": [("c", 2, _ALWAYS)], "#else": [("c", 1, _ALWAYS)], "#elif": [("c", 1, _ALWAYS)],
    "typedef": [("c", 2, _ALWAYS)],
    "package": [("java", 3, _re(r"^package [\w.]+;\s*$")), ("perl", 3, _re(r"^package [\w:]+;")),
                ("go", 3, _re(r"^package \w+\s*$"))],
    "func": [("go", 3, _ALWAYS)],
    "fn": [("rust", 3, _ALWAYS)], "pub": [("rust", 3, _has("fn ")), ("rust", 1, _ALWAYS)],
    "impl": [("rust", 2, _ALWAYS)], "trait": [("rust", 2, _ALWAYS)], "mod": [("rust", 1, _ends(";", "{"))],
    "use": [("perl", 4, _re(r"^use (strict|warnings|vars|constant|parent|base|lib|Carp|Exporter|[A-Z][\w:]*)\b.*;")),
            ("rust", 3, _re(r"^use [\w:{}, *]+::[\w{}, *]+;"))],
    "let": [("rust", 3, _has("let mut ")), ("javascript", 2, _re(r"^let [\w{}\[\], ]+ ?= ?"))],
    "const": [("javascript", 2, _re(r"^const [\w{}\[\], ]+ ?= ?")), ("c", 1, _has("("))],
    "var": [("javascript", 2, _re(r"^var \w+ ?= ?"))],
    "function": [("javascript", 2, _re(r"function\s*\w*\s*\([^)]*\)\s*\{")),
                 ("lua", 2, _re(r"^function [\w.:]+\([^)]*\)\s*$"))],
    "export": [("javascript", 3, _re(r"^export (default|const|function|class|async|\{)")),
               ("shell", 2, _re(r"^export \w+="))],
    "module.exports": [("javascript", 3, _ALWAYS)],
    "my": [("perl", 3, _re(r"^my [\$@%(]"))], "our": [("perl", 2, _re(r"^our [\$@%]"))],
    "sub": [("perl", 3, _re(r"^sub \w+"))],
    "local": [("lua", 2, _re(r"^local (function )?\w+")), ("shell", 1, _re(r"^local \w+(=|$)"))],
    "echo": [("shell", 1, _ALWAYS)], "fi": [("shell", 2, _ALWAYS)], "esac": [("shell", 2, _ALWAYS)],
    "done": [("shell", 2, _ALWAYS)], "then": [("shell", 2, _ALWAYS)], "do": [("shell", 1, _ALWAYS)],
    "if": [("shell", 2, _re(r"^if \[|^if test |; then$")), ("python", 2, _ends(":")),
           ("lua", 1, _ends("then"))],
    "for": [("python", 2, _re(r"^for .+ in .+:$")), ("shell", 1, _re(r"; do$"))],
    "while": [("python", 2, _ends(":")), ("shell", 1, _re(r"; do$"))],
    "case": [("shell", 2, _re(r" in$"))], "set": [("tcl", 1.5, _re(r"^set \w+ ")), ("shell", 1, _re(r"^set -\w"))],
    "proc": [("tcl", 3, _has("{"))],
    "namespace": [("tcl", 2, _has(" eval ")), ("cpp", 3, _re(r"^namespace \w*\s*\{?$"))],
    "using": [("cpp", 3, _re(r"^using (namespace )?[\w:]+;"))], "template": [("cpp", 3, _has("<"))],
    "public": [("java", 2, _any("(", "class ", "interface ")), ("cpp", 2, _ends(":"))],
    "private": [("java", 2, _any("(", " = ", ";")), ("cpp", 2, _ends(":"))],
    "protected": [("java", 2, _any("(", ";")), ("cpp", 2, _ends(":"))],
    "@Override": [("java", 2, _ALWAYS)],
    "require": [("ruby", 2, _re(r"^require ['\"]"))], "require_relative": [("ruby", 2, _ALWAYS)],
    "puts": [("ruby", 2, _ALWAYS)], "end": [("ruby", 1, _ALWAYS), ("lua", 1, _ALWAYS)],
    "attr_accessor": [("ruby", 3, _ALWAYS)], "attr_reader": [("ruby", 3, _ALWAYS)],
    "@media": [("css", 2, _ALWAYS)], "@import": [("css", 2, _ALWAYS)], "@font-face": [("css", 2, _ALWAYS)],
}
for _word in ("SELECT", "INSERT", "CREATE", "ALTER", "DROP", "UPDATE", "DELETE", "GRANT", "COMMENT"):
    _FIRST[_word] = [("sql", 3, _re(r"^(?i:SELECT .|INSERT INTO|CREATE (OR REPLACE )?(TABLE|INDEX|VIEW|"
                                    r"FUNCTION|TRIGGER|SCHEMA|TYPE|EXTENSION|SEQUENCE)|ALTER TABLE|DROP |"
                                    r"UPDATE \w+ SET|DELETE FROM|GRANT |COMMENT ON)"))]
for _word in ("FROM", "WHERE", "JOIN", "LANGUAGE", "RETURNS", "VALUES"):
    _FIRST[_word] = [("sql", 1, _ALWAYS)]
for _word in _C_TYPES:
    _FIRST.setdefault(_word, []).append(("c", 2, _C_FUNC))

# idioms counted over the sample: (substring, language, weight per hit, cap)
_IDIOMS = (
    ("self.", "python", 1, 5), ("__init__", "python", 2, 1), ("__name__", "python", 2, 1),
    ("->", "c", 0.5, 4), ("std::", "cpp", 2, 5),
    ("System.out.", "java", 3, 2), ("=>", "javascript", 1, 4), ("===", "javascript", 1, 3),
    ("console.log", "javascript", 2, 2), ("require(", "javascript", 1.5, 3),
    (":=", "go", 1, 5), ("err != nil", "go", 3, 2), ("fmt.", "go", 2, 2),
    ("println!", "rust", 3, 2), ("&mut ", "rust", 2, 2), ("Vec<", "rust", 2, 2), ("Option<", "rust", 1, 2),
    ("$_", "perl", 1, 3), ("@_", "perl", 1, 2), ("=~", "perl", 1.5, 3), ("$self->", "perl", 2, 3),
    ("${", "shell", 1, 4), ("$(", "shell", 1, 4), ("2>&1", "shell", 2, 2), (">/dev/null", "shell", 2, 2),
    ("</div>", "html", 1.5, 4), ("</p>", "html", 1, 3), ("<div", "html", 1, 4), ("</a>", "html", 1, 3),
    ("</span>", "html", 1, 3), (".each do |", "ruby", 3, 2), ("elsif", "ruby", 1, 2),
)
_CSS_DECL = re.compile(r"^[a-z-]+\s*:\s*[^;{}()]+;$")
_CSS_RULE = re.compile(r"^[\w.#:\-\[\]=\"'>*, ]+\{$")
_MIN_SCORE = 6.0


def from_shebang(first_line: str) -> str | None:
    if not first_line.startswith("#!"):
        return None
    for needle, language in _SHEBANGS:
        if needle in first_line:
            return language
    return "shell"


_PREAMBLES = (('"""', '"""'), ("'''", "'''"), ("/*", "*/"), ("<!--", "-->"), ("=pod", "=cut"))


def _after_preamble(text: str) -> str:
    """The text after a leading docstring, block comment or license header (which is prose
    in every language), keeping its first line so a Python docstring still counts."""
    head = text.lstrip()
    for start, end in _PREAMBLES:
        if head.startswith(start):
            close = head.find(end, len(start), 16384)
            if close > 0:
                return head[:head.find("\n") + 1] + head[close + len(end):]
    return text


def line_language(line: str) -> str | None:
    """The language whose line shape a stripped line has (`def f(x):` is Python), or None.

    Rules that accept any line starting with a lower-case word (`do`, `end`, `then`) only
    count on short lines: wrapped prose starts lines with those words too.
    """
    word = line.split(None, 1)[0] if line else ""
    rules = _FIRST.get(word)
    if rules is None and "(" in word:
        rules = _FIRST.get(word.split("(", 1)[0])
    if not rules:
        return None
    short = len(line.split(None, 3)) <= 3 or not (word.isalpha() and word.islower())
    for lang, _, test in rules:
        if (test is not _ALWAYS or short) and test(line):
            return lang
    return None


def _decided(hits: dict[tuple[str, int], float]) -> bool:
    totals: dict[str, float] = {}
    for (lang, _), value in hits.items():
        totals[lang] = totals.get(lang, 0.0) + value
    ranked = sorted(totals.values(), reverse=True) + [0.0, 0.0]
    return ranked[0] >= 24 and ranked[0] >= 3 * ranked[1]


def detect(text: str) -> tuple[str | None, float]:
    """(language, score) for a text sample; language None when nothing scores enough.

    The score is comparable across languages; >= 12 is "clearly code" and >= 6
    "probably code" (an extension that says text wins over a score under 12).
    """
    text = text.lstrip("\ufeff")
    first = text[:256].split("\n", 1)[0].strip()
    language = from_shebang(first)
    if language:
        return language, 100.0
    lowered = text[:64].lstrip()[:32].lower()
    for opening, language in _OPENINGS:
        if lowered.startswith(opening):
            return language, 100.0
    sample = _after_preamble(text)[:4096]
    hits: dict[tuple[str, int], float] = {}
    semicolons = 0
    for n, line in enumerate(sample.splitlines()[:150]):
        if n == 60 and _decided(hits):  # a clear leader after 60 lines: the rest cannot change it
            break
        s = line.strip()
        if not s:
            continue
        last = s[-1]
        if last == ";":
            semicolons += 1
        word = s.split(None, 1)[0]
        rules = _FIRST.get(word)
        if rules is None and "(" in word:
            rules = _FIRST.get(word.split("(", 1)[0])
        if rules:
            for k, (lang, weight, test) in enumerate(rules):
                if test(s):
                    key = (lang, id(rules) + k)
                    hits[key] = min(hits.get(key, 0.0) + weight, weight * 5)
        elif (last == ";" and _CSS_DECL.match(s)) or (last == "{" and _CSS_RULE.match(s)):
            hits[("css", 0)] = min(hits.get(("css", 0), 0.0) + 1, 10)
    scores: dict[str, float] = {}
    for (lang, _), value in hits.items():
        scores[lang] = scores.get(lang, 0.0) + value
    for needle, lang, weight, cap in _IDIOMS:
        n = sample.count(needle)
        if n:
            scores[lang] = scores.get(lang, 0.0) + weight * min(n, cap)
    if semicolons >= 3:
        for lang in ("c", "java", "javascript", "cpp", "perl", "rust"):
            if scores.get(lang):
                scores[lang] += min(semicolons, 20) * 0.3
    if scores.get("cpp") and scores.get("c"):
        scores["cpp"] += scores["c"] * 0.9
    if not scores:
        return None, 0.0
    best = max(scores, key=scores.__getitem__)
    if scores[best] < _MIN_SCORE:
        return None, scores[best]
    return best, scores[best]
