"""Collaborative training: models share knowledge between rounds.

A collaborative preset trains every model in R rounds. Between rounds the
`share_knowledge` task runs `share.share_round`, which writes artifacts under the
run folder (`knowledge/round_<k>/`, see `knowledge.py`); in the next round each
model's worker calls `consume.consume_knowledge` before it fits.

Strategies (`collaboration.strategies` in a preset):

- `cotraining` (strategies/cotraining.py): every model predicts its own view of each
  paired item (pairs.jsonl links an image, a clip and a caption of one item); the
  confident mean of the *other* models' predictions becomes a soft target for a
  model's view of that item, also where the item has no label in that modality;
- `distillation` (strategies/distillation.py): KL between a model's softened output
  and its peers' softened outputs on the same items, for models whose label spaces
  align (labels.py); weight and temperature from the preset;
- `shared_text` (strategies/shared_text.py): models that read UTF-8 byte ids share
  that tokenizer; their byte embedding tables are averaged between rounds,
  weighted by training-set sizes.

Each strategy is one class registered in `config.extensions.STRATEGIES` with its
share and consume halves (strategies/base.py); share.py and consume.py dispatch
through the registry, and the preset's `collaboration.strategies` is checked against it.

Nothing here imports Airflow; keras and numpy are imported where arrays are made.
"""
