"""Near duplicates: planted re-saves and re-encodings are found, distinct files are not
grouped, and every group lands in one split (scanner and loaders alike)."""
from __future__ import annotations

import io
import random
from typing import TYPE_CHECKING

import numpy as np
import pytest

from training_lib.data.catalog import Catalog
from training_lib.data.quality.duplicates import mark_duplicates, text_key
from training_lib.data.records import split_key, split_of
from training_lib.data.scan.scanner import scan_folder

if TYPE_CHECKING:
    from PIL import Image

N_DISTINCT_TEXTS = 50
N_DISTINCT_IMAGES = 50
WORDS = ("river stone light paper window garden winter morning engine signal harbour letter "
         "market silver orange pencil bridge forest candle mirror thunder violin desert "
         "planet ladder basket copper meadow island rocket carpet button shadow valley").split()


def _text(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(4, 8)):
        words = [rng.choice(WORDS) for _ in range(rng.randint(6, 12))]
        lines.append("    " * rng.randint(0, 1) + " ".join(words).capitalize() + ".")
    return "\n".join(lines) + "\n"


def _picture(seed: int) -> "Image.Image":
    """A distinct synthetic photo: a smooth colour field with a few shapes on it."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    size = (160, 120)
    im = Image.fromarray((rng.random((6, 8, 3)) * 255).astype(np.uint8)).resize(size, Image.BICUBIC)
    draw = ImageDraw.Draw(im)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, size[0])), int(rng.integers(0, size[1]))
        w, h = (int(v) for v in rng.integers(10, 60, 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape([x0, y0, x0 + w, y0 + h], fill=colour)
    return im.filter(ImageFilter.GaussianBlur(1))


def _encoded(im: "Image.Image", fmt: str = "PNG", **kw: object) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **kw)
    return out.getvalue()


def _text_copies(text: str) -> list[tuple[str, bytes]]:
    """(how, bytes) re-saves of one text: what editors and tools change."""
    lf = text.encode()
    return [
        ("crlf", text.replace("\n", "\r\n").encode()),
        ("trailing_spaces", "".join(line + "  \n" for line in text.splitlines()).encode()),
        ("tabs", text.replace("    ", "\t").encode()),
        ("bom", b"\xef\xbb\xbf" + lf),
        ("crlf_bom", b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode()),
        ("cr", text.replace("\n", "\r").encode()),
        ("utf16", text.encode("utf-16")),
        ("blank_lines", ("\n" + text.replace("\n", "\n\n")).encode()),
        ("trailing_tabs", "".join(line + "\t\n" for line in text.splitlines()).encode()),
        ("crlf_trailing", "".join(line + " \r\n" for line in text.splitlines()).encode()),
    ]


def _image_copies(im: "Image.Image", rng: random.Random) -> list[tuple[str, bytes]]:
    from PIL import Image

    w, h = im.size
    cw, ch = round(0.03 * w), round(0.03 * h)

    def crop() -> "Image.Image":  # 3% of each side taken off, split at random between its edges
        left, top = rng.randint(0, cw), rng.randint(0, ch)
        return im.crop((left, top, w - (cw - left), h - (ch - top)))

    brighter = Image.fromarray(np.clip(np.asarray(im, dtype=np.int16) + 5, 0, 255).astype(np.uint8))
    return [
        ("jpeg_q60", _encoded(im.convert("RGB"), "JPEG", quality=60)),
        ("resize_90", _encoded(im.resize((int(w * 0.9), int(h * 0.9)), Image.LANCZOS))),
        ("crop_3", _encoded(crop())),
        ("crop_3_one_corner", _encoded(im.crop((0, 0, w - cw, h - ch)))),
        ("brightness_5", _encoded(brighter)),
        ("crop_3_resize_90_jpeg_q60", _encoded(crop().resize((int(w * 0.9), int(h * 0.9)))
                                               .convert("RGB"), "JPEG", quality=60)),
    ]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory):
    """~100 distinct files and 20 planted near duplicates: (scan report, groups)."""
    rng = random.Random(7)
    root = tmp_path_factory.mktemp("near") / "data"
    groups: dict[str, list[str]] = {}  # original -> its planted copies
    texts = [_text(rng) for _ in range(N_DISTINCT_TEXTS)]
    for i, text in enumerate(texts):
        (root / "text").mkdir(parents=True, exist_ok=True)
        (root / "text" / f"{i:03d}.txt").write_text(text)
    for i in range(10):  # one re-save each of ten texts, every kind once
        how, data = _text_copies(texts[i])[i]
        rel = f"text/copy_{i:02d}_{how}.txt"
        (root / rel).write_bytes(data)
        groups.setdefault(f"text/{i:03d}.txt", []).append(rel)
    pictures = [_picture(seed) for seed in range(N_DISTINCT_IMAGES)]
    (root / "images").mkdir()
    for i, im in enumerate(pictures):
        (root / "images" / f"{i:03d}.png").write_bytes(_encoded(im))
    kinds = (0, 1, 2, 3, 4, 5, 2, 3, 0, 1)  # crops (the hard case) twice each
    for i in range(10):  # JPEG q60, resized to 90%, cropped by 3%, brightened by 5, all three
        how, data = _image_copies(pictures[i], rng)[kinds[i]]
        rel = f"images/copy_{i:02d}_{how}.{'jpg' if 'jpeg' in how else 'png'}"
        (root / rel).write_bytes(data)
        groups.setdefault(f"images/{i:03d}.png", []).append(rel)
    with Catalog(root.parent / "c.sqlite") as catalog:
        report = scan_folder(root, catalog, workers=0)
    return report, groups


def _recall(report, groups: dict[str, list[str]], prefix: str) -> float:
    by_path = {r.path: r for r in report.records}
    planted = [(orig, copy) for orig, copies in groups.items() if orig.startswith(prefix)
               for copy in copies]
    found = sum(by_path[copy].meta.get("near_duplicate_of") == orig for orig, copy in planted)
    return found / len(planted)


def test_planted_near_duplicates_are_found(planted) -> None:
    report, groups = planted
    text_recall, image_recall = _recall(report, groups, "text/"), _recall(report, groups, "images/")
    print(f"near-duplicate recall: text {text_recall:.2f}, images {image_recall:.2f}")
    assert text_recall >= 0.9
    assert image_recall >= 0.9


def test_distinct_files_form_no_group(planted) -> None:
    report, groups = planted
    copies = {copy for group in groups.values() for copy in group}
    wrongly = [r.path for r in report.records
               if r.path not in copies and {"near_duplicate", "duplicate"} & set(r.flags)]
    assert wrongly == []
    assert len(report.records) - len(copies) == N_DISTINCT_TEXTS + N_DISTINCT_IMAGES


@pytest.mark.parametrize("fractions", [(0.15, 0.15), (0.2, 0.3), (0.4, 0.4)])
def test_every_group_lands_in_one_split(planted, fractions: tuple[float, float]) -> None:
    report, groups = planted
    by_path = {r.path: r for r in report.records}
    for original, copies in groups.items():
        members = [by_path[original], *(by_path[c] for c in copies)]
        # the loaders' split (preset fractions) and the catalog's (default fractions)
        assert len({split_of(split_key(r), fractions) for r in members}) == 1, original
        assert len({r.split for r in members}) == 1, original


def test_text_key_ignores_what_a_re_save_changes_and_keeps_words_and_case() -> None:
    base = "First line of a poem\n    second line, indented\n"
    assert text_key(base) == text_key("\ufeffFirst line of a poem  \r\n\tsecond line, indented\r\n")
    assert text_key(base) != text_key(base.replace("poem", "song"))
    assert text_key(base) != text_key(base.upper())
    assert text_key("ok\n") is None  # too short for equal words to mean a copy


def test_a_rescan_drops_a_group_whose_original_is_gone(planted) -> None:
    report, _ = planted
    records = [r for r in report.records if r.path != "text/000.txt"]
    copy = next(r for r in mark_duplicates(records) if r.path.startswith("text/copy_00_"))
    assert "near_duplicate" not in copy.flags
    assert "split_key" not in copy.meta and copy.split == split_of(copy.content_hash)
