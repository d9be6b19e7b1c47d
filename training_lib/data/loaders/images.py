"""The image loader: images and rendered document pages, labeled by class folder."""
from __future__ import annotations

import logging

from training_lib.data.dataset import Dataset
from training_lib.data.loaders.registry import LoadRequest, register_loader
from training_lib.data.loaders.splits import limit_records, split_fractions, split_rows
from training_lib.data.records import split_key, split_of
from training_lib.errors import DataError

log = logging.getLogger(__name__)


@register_loader("images", kinds=("image", "document"))
def images(req: LoadRequest) -> Dataset:
    """Images and rendered document pages, labeled by class folder."""
    size = req.settings.preprocessing.image_size
    labeled = [r for r in limit_records(req.records, req.settings) if r.label]
    classes = sorted({r.label for r in labeled})
    rows = []
    for rec in labeled:
        kind = "document" if rec.type == "document" else "image"
        try:
            entry = req.cache.entry(kind, req.data_root, rec, req.settings.preprocessing)
        except DataError as e:
            log.warning("skipping %s: %s", rec.path, e)
            continue
        rows.append((split_of(split_key(rec), split_fractions(req.settings)),
                     entry, classes.index(rec.label),
                     rec.content_hash))
    keys: dict[str, list[str]] = {}
    x, y = split_rows(rows, 20, req.model, keys)
    return Dataset(req.model, x, y, classes, {"image_size": size, "channels": 3},
                   [r.content_hash for r in labeled], keys)
