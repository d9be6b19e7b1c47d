"""The file type registry: every kind of file the scanner can tell apart, in one place.

A file type is registered once, with `register_file_type(FileType(...))`; the other
places read it from here instead of keeping their own table:

| field          | read by                                                           |
|----------------|-------------------------------------------------------------------|
| `name`         | the preset schema's `types` literal, `FileRecord.type`, a model's `consumes` |
| `extensions`   | `data.detect.extensions`: what a file name claims (`wrong_extension`) |
| `signatures`   | `data.detect.sniff`: leading bytes -> format, after the built-in magic |
| `binary`       | `data.detect.sniff`: named as this type yet no signature -> `corrupt` |
| `check`        | `data.quality.checks.assess`: the decoder check of a whole file   |
| `features`     | `data.features.cache`: the feature-cache kinds built for the type |
| `folder_label` | `data.scan.scanner`: the class folder is the file's label         |
| `samples_key`  | `data.routing`: the meta key counting the training samples a file holds |

Like `model_specs`, this module is plain data read at DAG parse time (the preset
schema's literal comes from it), so it never imports a decoder: checks are named as
"module:function" strings and imported when a file is first checked. Which loader
reads a kind is the loaders' own registration (`data.loaders.registry`). A plugin's
type must be registered before `config.schema` is imported for presets to name it.

>>> register_file_type(FileType("font", "Web and desktop fonts", binary=True,  # doctest: +SKIP
...     extensions={"woff": ("woff", "woff2")}, signatures=((b"wOFF", "woff"),)))
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping


@dataclass(frozen=True)
class FileType:
    name: str
    description: str
    # container family -> the extensions naming it (".jpg"/".jpeg" are one family, so a
    # JPEG named ".jpeg" is fine but a PNG named ".jpg" is flagged)
    extensions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    signatures: tuple[tuple[bytes, str], ...] = ()  # (leading bytes, format)
    binary: bool = False
    check: str | None = None  # "module:function"(data, fmt, meta, limits) -> (meta, flags, retype)
    features: tuple[str, ...] = ()
    folder_label: bool = True
    samples_key: str | None = None  # None: a file is one sample


FILE_TYPES: dict[str, FileType] = {}


def register_file_type(spec: FileType) -> FileType:
    """Make `spec.name` a file type the scanner, quality checks and routing know."""
    if spec.name in FILE_TYPES:
        raise ValueError(f"file type {spec.name!r} is already registered")
    FILE_TYPES[spec.name] = spec
    return spec


def type_names() -> tuple[str, ...]:
    return tuple(FILE_TYPES)


_MEDIA = "training_lib.data.quality.verify_media"
_DOCS = "training_lib.data.quality.verify_docs"

for _spec in (
    FileType("image", "Pictures Pillow decodes", binary=True, check=f"{_MEDIA}:check_image",
             features=("image",), extensions={
                 "png": ("png", "apng"), "jpeg": ("jpg", "jpeg", "jpe", "jfif", "pjpeg"),
                 "gif": ("gif",), "bmp": ("bmp", "dib"), "tiff": ("tif", "tiff"),
                 "webp": ("webp",), "ico": ("ico", "cur"), "heif": ("heic", "heif", "avif"),
                 "svg": ("svg",), "psd": ("psd",)}),
    FileType("audio", "Sound clips", binary=True, check=f"{_MEDIA}:check_audio",
             features=("audio",), extensions={
                 "wav": ("wav", "wave"), "flac": ("flac",), "ogg": ("ogg", "oga", "opus", "spx"),
                 "mp3": ("mp3",), "mp4": ("m4a", "m4b", "aac"), "aiff": ("aif", "aiff", "aifc"),
                 "au": ("au", "snd"), "midi": ("mid", "midi")}),
    FileType("video", "Video clips", binary=True, check=f"{_MEDIA}:check_video",
             features=("video",), extensions={
                 "mp4": ("mp4", "m4v", "mov", "qt", "3gp", "3g2"),
                 "matroska": ("mkv", "webm", "mka"), "avi": ("avi",), "ogg": ("ogv",),
                 "mpeg": ("mpg", "mpeg", "ts", "m2ts"), "asf": ("wmv", "asf")}),
    FileType("text", "Prose and markup in a text encoding", check=f"{_DOCS}:check_text",
             features=("text",), extensions={
                 "text": ("txt", "text", "md", "markdown", "rst", "log", "me", "nfo", "srt")}),
    FileType("json", "JSON and JSON Lines; records of a model's format", check=f"{_DOCS}:check_json",
             folder_label=False, samples_key="n_records",
             extensions={"json": ("json", "jsonl", "ndjson", "geojson")}),
    FileType("tabular", "Tables with a header row", check=f"{_DOCS}:check_table",
             folder_label=False, samples_key="n_rows", extensions={
                 "csv": ("csv", "tsv", "tab", "psv"), "xlsx": ("xlsx", "xlsm", "ods"),
                 "parquet": ("parquet",)}),
    FileType("document", "Office documents and PDFs", binary=True,
             check=f"{_DOCS}:check_document", features=("document", "document_text"),
             extensions={
                 "pdf": ("pdf",), "docx": ("docx", "docm", "dotx"), "pptx": ("pptx", "pptm"),
                 "odf": ("odt", "odp"), "epub": ("epub",), "ole": ("doc", "ppt", "msg"),
                 "rtf": ("rtf",)}),
    FileType("archive", "Compressed files and archives", binary=True,
             check=f"{_DOCS}:check_archive", extensions={
                 "zip": ("zip", "jar", "whl"), "tar": ("tar",), "gzip": ("gz", "tgz", "gzip"),
                 "bzip2": ("bz2", "tbz", "tbz2"), "xz": ("xz", "txz", "lzma"), "zstd": ("zst",),
                 "7z": ("7z",), "rar": ("rar",)}),
    # ".ts" is also an MPEG transport stream; as the later entry, code wins the name
    FileType("code", "Source code; the format is its language", check=f"{_DOCS}:check_text",
             features=("text",), extensions={"code": (
                 "py", "pyw", "pyi", "c", "h", "cc", "cpp", "cxx", "hpp", "hh", "hxx", "java",
                 "js", "mjs", "cjs", "ts", "tsx", "jsx", "go", "rs", "rb", "pl", "pm", "t", "sh",
                 "bash", "zsh", "ksh", "sql", "html", "htm", "xhtml", "css", "scss", "xml", "xsl",
                 "yaml", "yml", "toml", "ini", "cfg", "conf", "php", "lua", "tcl", "r", "swift",
                 "kt", "kts", "scala", "cs", "m", "mm", "hs", "ml", "ex", "exs", "erl", "clj",
                 "vim", "el", "lisp", "scm", "f90", "jl", "dart", "ps1", "bat", "cmd", "mk",
                 "cmake", "dockerfile", "proto", "groovy", "gradle", "awk", "sed", "pas", "asm",
                 "s", "ipynb_py")}),
    # binaries we recognize but no model reads: named so the report says what they are
    FileType("unknown", "Files no model reads (executables, databases, fonts, ...)",
             signatures=(
                 (b"\x7fELF", "elf"), (b"SQLite format 3\x00", "sqlite"), (b"\x93NUMPY", "npy"),
                 (b"\xca\xfe\xba\xbe", "java-class"), (b"\x00asm", "wasm"), (b"wOFF", "font"),
                 (b"wOF2", "font"), (b"OTTO", "font"), (b"\x80\x04\x95", "pickle"),
                 (b"\x80\x05\x95", "pickle"), (b"\xcf\xfa\xed\xfe", "mach-o"),
                 (b"\xfe\xed\xfa\xcf", "mach-o"), (b"\x04\x22\x4d\x18", "lz4"))),
):
    register_file_type(_spec)
