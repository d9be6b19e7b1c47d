"""The file type registry: a type registered once is known to sniffing, scanning and routing."""
from __future__ import annotations

import typing

import pytest

from training_lib.config import schema
from training_lib.config.file_types import FILE_TYPES, FileType, register_file_type
from training_lib.data.detect.sniff import sniff
from training_lib.data.quality import checks, verify_docs, verify_media
from training_lib.data.records import FileRecord
from training_lib.data.routing import samples_in
from training_lib.data.labels import folder_labelled

GLB = FileType("model3d", "Binary glTF scenes", extensions={"glb": ("glb",)},
               signatures=((b"glTF", "glb"),), binary=True, folder_label=False,
               samples_key="n_meshes")


@pytest.fixture
def model3d(monkeypatch: pytest.MonkeyPatch) -> FileType:
    monkeypatch.setitem(FILE_TYPES, GLB.name, GLB)
    return GLB


def test_builtin_types_are_the_preset_schemas_literal():
    assert typing.get_args(schema.DataType) == tuple(FILE_TYPES)
    assert {"image", "audio", "json", "tabular", "code", "unknown"} <= set(FILE_TYPES)


def test_a_type_is_registered_once():
    with pytest.raises(ValueError, match="'image' is already registered"):
        register_file_type(FileType("image", "again"))


def test_checks_come_from_the_registry():
    assert checks.check_for("image") is verify_media.check_image
    assert checks.check_for("code") is verify_docs.check_text
    assert checks.check_for("unknown") is None


def test_a_registered_type_is_sniffed_by_signature_and_extension(model3d: FileType):
    scene = b"glTF\x02\x00\x00\x00" + bytes(64)
    found = sniff(scene, "chair.glb")
    assert (found.type, found.format, found.flags) == ("model3d", "glb", [])
    assert sniff(scene, "chair.png").flags == ["wrong_extension"]
    # named as a binary type, yet no signature: a damaged header
    assert sniff(bytes(range(7, 200)), "chair.glb").flags == ["corrupt"]


def test_a_registered_type_drives_labels_and_sample_counts(model3d: FileType):
    assert not folder_labelled("model3d")
    assert folder_labelled("image")
    record = FileRecord("scenes/a.glb", 10, 0, "ab", "model3d", "glb", meta={"n_meshes": 7})
    assert samples_in(record) == 7
    assert samples_in(FileRecord("images/a.png", 10, 0, "cd", "image", "png")) == 1
