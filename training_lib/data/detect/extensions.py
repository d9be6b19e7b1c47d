"""What a file name's extension claims, used only as a hint and for `wrong_extension`.

Each extension maps to (type, family), from the file type registry
(`config.file_types`). Formats of one family are interchangeable names for one
container (".jpg"/".jpeg", ".mp4"/".mov"/".m4a", ".mkv"/".webm"), so a PNG named
".jpg" is flagged but a QuickTime file named ".mp4" is not.
"""
from __future__ import annotations

from functools import lru_cache

from training_lib.config.file_types import FILE_TYPES


@lru_cache(maxsize=4)
def _extension_index(n_types: int) -> dict[str, tuple[str, str]]:
    # keyed by the registry's size: types are only ever added, so the size is its version
    return {ext: (spec.name, family) for spec in FILE_TYPES.values()
            for family, exts in spec.extensions.items() for ext in exts}


def extension_index() -> dict[str, tuple[str, str]]:
    """extension -> (type, family) of every registered file type."""
    return _extension_index(len(FILE_TYPES))


# detected format -> family (formats not listed are their own family)
FORMAT_FAMILY: dict[str, str] = {
    "apng": "png", "jpeg": "jpeg", "heic": "heif", "avif": "heif", "mov": "mp4", "m4a": "mp4",
    "3gp": "mp4", "webm": "matroska", "mkv": "matroska", "matroska": "matroska", "opus": "ogg",
    "vorbis": "ogg", "theora": "ogg", "tar.gz": "gzip", "tar.bz2": "bzip2", "tar.xz": "xz",
    "docx": "docx", "pptx": "pptx", "odt": "odf", "odp": "odf", "xlsx": "xlsx", "ods": "xlsx",
    "doc": "ole", "ppt": "ole", "tsv": "csv", "jsonl": "json",
}

# names without an extension that still say what they are
NAMES: dict[str, tuple[str, str]] = {
    "makefile": ("code", "code"), "dockerfile": ("code", "code"), "rakefile": ("code", "code"),
    "gemfile": ("code", "code"), "cmakelists.txt": ("code", "code"),
    "readme": ("text", "text"), "license": ("text", "text"), "copying": ("text", "text"),
    "authors": ("text", "text"), "changelog": ("text", "text"), "notice": ("text", "text"),
}

# Code languages an extension names, for a tie-break when content is ambiguous.
CODE_EXTENSIONS: dict[str, str] = {
    "py": "python", "pyw": "python", "pyi": "python", "c": "c", "h": "c", "cc": "cpp",
    "cpp": "cpp", "cxx": "cpp", "hpp": "cpp", "hh": "cpp", "hxx": "cpp", "java": "java",
    "js": "javascript", "mjs": "javascript", "cjs": "javascript", "jsx": "javascript",
    "ts": "typescript", "tsx": "typescript", "go": "go", "rs": "rust", "rb": "ruby",
    "pl": "perl", "pm": "perl", "t": "perl", "sh": "shell", "bash": "shell", "zsh": "shell",
    "ksh": "shell", "sql": "sql", "html": "html", "htm": "html", "xhtml": "html", "css": "css",
    "scss": "css", "xml": "xml", "xsl": "xml", "yaml": "yaml", "yml": "yaml", "toml": "toml",
    "ini": "ini", "cfg": "ini", "conf": "ini", "php": "php", "lua": "lua", "tcl": "tcl",
    "r": "r", "swift": "swift", "kt": "kotlin", "kts": "kotlin", "scala": "scala", "cs": "csharp",
    "hs": "haskell", "ml": "ocaml", "ex": "elixir", "exs": "elixir", "erl": "erlang",
    "clj": "clojure", "el": "lisp", "lisp": "lisp", "scm": "scheme", "jl": "julia",
    "dart": "dart", "ps1": "powershell", "bat": "batch", "cmd": "batch", "mk": "make",
    "cmake": "cmake", "dockerfile": "dockerfile", "proto": "protobuf", "groovy": "groovy",
    "gradle": "groovy", "awk": "awk", "asm": "assembly", "s": "assembly", "m": "objc",
}


def split_name(name: str) -> tuple[str, str]:
    """(stem, extension) of a file name, lower-case extension without the dot ("" if none)."""
    base = name.rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot or not stem:
        return base, ""
    return stem, ext.lower()


def claimed(name: str) -> tuple[str, str] | None:
    """(type, family) the file name claims, or None when the name says nothing."""
    stem, ext = split_name(name)
    index = extension_index()
    if ext in index:
        return index[ext]
    return NAMES.get(name.rsplit("/", 1)[-1].lower())


def family_of(fmt: str) -> str:
    return FORMAT_FAMILY.get(fmt, fmt)


def is_wrong(name: str, type_: str, fmt: str) -> bool:
    """True when the name's extension names another type or container family."""
    claim = claimed(name)
    if claim is None or type_ == "unknown":
        return False
    claim_type, claim_family = claim
    if claim_type != type_:
        # an audio-only MP4/Matroska/Ogg named as a video container (or back) is the same file kind
        same_container = claim_family == family_of(fmt) and {claim_type, type_} <= {"audio", "video"}
        return not same_container
    textual = ("text", "code", "json", "csv")
    if family_of(fmt) not in ("xlsx", "parquet") and claim_family in textual:
        return False
    return claim_family != family_of(fmt)
