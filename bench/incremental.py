"""Incremental learning over three "nights" of new data, against naive fine-tuning and
full retraining from scratch (in-process, CPU).

Nights, built from the demo data (generated into a temp folder unless --data is given):
- vision_service, new handwriting: digits by index block (base 0-899, nights 900-1199,
  1200-1499, 1500-1796: different writers' blocks of scikit-learn's digits);
- audio_service, new voices: base = 6 espeak-ng voices, one new voice a night;
- causal_reasoning_engine, new text categories: base = 3 fortune categories, one new
  category a night (the classifier's head grows).
Each night: full = train from scratch on everything so far; naive = fine-tune the
previous naive model on the new data only; ours = the nightly step: fine-tune the
champion on the data it was not trained on (a rejected night's data stays new, as in the
pipeline's baseline.py) + a class-balanced replay of old data with the replayed rows'
targets distilled from the champion, then the new classes' logits bias-corrected on the
validation rows (`recipe.seed_finetune`, `recipe.finish_finetune`), kept only if the
forgetting guard accepts (paired tests on the same test rows; training_lib.incremental:
the same functions the pipeline's worker calls; the bench does not apply
min_new_test_rows). The fine-tune's epochs, learning rate, batch size, replay ratio,
distillation weight, epsilon and alpha are the nightly preset's
(presets/incremental_learning.yaml, `nightly_recipe`), unless overridden on the command
line. Scores: accuracy of the model each arm holds after the night, on the test rows of
data before the night (old) and of the night's data (new). Goal for ours vs full: old
within 1 point, new within 2 points, at least 3x faster.

Times are whole steps: ours = load the champion from its saved file, score it for the
guard, build the model, seed it (weights, replay, the champion's answers on the replayed
rows), fine-tune, correct the new classes' bias, score the result, judge; full = build, train from scratch and score
(its evaluation). `--seeds 0,1,2` (the default) repeats everything per seed; the summary
gives the mean and the spread (standard deviation over seeds) of each gap and speedup.
`--text-new a,b,c` names the text categories that arrive on nights 1-3 (another corpus,
e.g. bench/make_real_corpus.py's packages, with `--data`).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
TMP = Path(tempfile.mkdtemp(prefix="bench-incr-"))
os.environ.setdefault("TLIB_VAR_DIR", str(TMP / "var"))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from training_lib.config.schema import PresetModel  # noqa: E402
from training_lib.data.dataset import Dataset  # noqa: E402
from training_lib.incremental import finetune, guard, recipe, replay  # noqa: E402
from training_lib.config.model_specs import MODELS  # noqa: E402
from training_lib.models.resolve import build_model  # noqa: E402
from training_lib.training.optimizer_state import build_before_fit, restore_compile  # noqa: E402

EPOCHS_FULL = {"vision_service": 10, "audio_service": 20, "causal_reasoning_engine": 20}
LR = 1e-3
TEXT_NEW = ("love", "science", "sports")


def nightly_recipe(preset: str = "incremental_learning") -> dict:
    """The fine-tune as the nightly preset runs it, per model: epochs (config/schedule.py),
    learning rate and batch size (`models.<name>` overrides, else the preset's), and the
    replay ratio, distillation weight, forgetting epsilon and significance level of its
    `incremental` section."""
    from training_lib.config.presets import load_preset
    from training_lib.config.schedule import epoch_schedule

    settings = load_preset(preset).settings
    inc = settings.incremental
    return {"preset": preset,
            "epochs": {m: epoch_schedule(settings, MODELS[m]).epochs for m in EPOCHS_FULL},
            "learning_rate": {m: settings.for_model(m, "learning_rate") for m in EPOCHS_FULL},
            "batch_size": {m: settings.for_model(m, "batch_size") for m in EPOCHS_FULL},
            "replay": inc.replay_ratio, "distill": inc.distillation_weight,
            "epsilon": inc.forgetting_epsilon, "alpha": inc.significance_level}


RECIPE = nightly_recipe()
BIAS_CORRECTION = True


class Clock:
    """Laps of one timed step: {part: seconds}."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.parts: dict[str, float] = {}

    def lap(self, part: str) -> None:
        now = time.perf_counter()
        self.parts[part] = self.parts.get(part, 0.0) + now - self.last
        self.last = now

    def total(self) -> float:
        return self.last - self.start


def night_of(model: str, record) -> int:
    """0 = base data, 1..3 = the night a file arrives."""
    if model == "vision_service":
        index = int(re.search(r"(\d+)", Path(record.path).stem).group(1))
        return 0 if index < 900 else 1 if index < 1200 else 2 if index < 1500 else 3
    if model == "audio_service":
        voice = Path(record.path).name.split("_")[0]
        return {"en-us": 1, "en-us-nyc": 2, "zz": 3}.get(voice, 0)
    return TEXT_NEW.index(record.label) + 1 if record.label in TEXT_NEW else 0


def load_all(data: Path, models: list[str]) -> dict[str, tuple[Dataset, dict[str, int]]]:
    from training_lib.data.catalog import Catalog
    from training_lib.data.features.cache import FeatureCache
    from training_lib.data.loaders.registry import LoadRequest, load_dataset
    from training_lib.data.routing import route
    from training_lib.data.scan.scanner import scan_folder

    settings = PresetModel(description="bench", target_models=tuple(models), epochs=1)
    with Catalog(TMP / "catalog.sqlite") as catalog:
        records = scan_folder(data, catalog).records
    routing = route(records, settings, {m: MODELS[m] for m in models}, list(models))
    out = {}
    for model, files in routing.manifests.items():
        FeatureCache().build(data, files, settings.preprocessing)
        dataset = load_dataset(MODELS[model].loader, LoadRequest(model, files, data, settings))
        nights = {r.content_hash: night_of(model, r) for r in files}
        out[model] = (dataset, nights)
    return out


def upto(dataset: Dataset, nights: dict[str, int], last: int) -> Dataset:
    """The data available after night `last`, with the class list of what it contains."""
    x, y, keys = {}, {}, {}
    for split in ("train", "val", "test"):
        index = np.asarray([i for i, k in enumerate(dataset.keys[split]) if nights[k] <= last])
        part = dataset.subset(split, index)
        x[split], y[split], keys[split] = part.x[split], part.y[split], part.keys[split]
    present = sorted({dataset.classes[i] for s in y for i in y[s]})
    remap = np.asarray([present.index(c) if c in present else -1 for c in dataset.classes])
    y = {s: remap[v] for s, v in y.items()}
    return Dataset(dataset.model, x, y, present, dataset.info, dataset.sources, keys)


def fit(model: keras.Model, data: Dataset, epochs: int, seed: int, batch_size: int = 32) -> float:
    """Train, as the engine does (optimizer built first); the time of the fit."""
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    build_before_fit(model)
    model.fit(data.x["train"], data.y["train"], batch_size=batch_size, epochs=epochs, verbose=0,
              shuffle=True)
    return time.perf_counter() - start


def new_model(name: str, data: Dataset, seed: int, previous=None) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = build_model(MODELS[name], data, LR)
    if previous is not None:
        finetune.transfer_weights(previous[0], previous[1], model, data.classes)
    return model


def load_champion(path: Path) -> keras.Model:
    import training_lib.models.blocks  # noqa: F401  (custom layers)

    from training_lib.models.saving import load_model

    return load_model(path)


def run_model(name: str, dataset: Dataset, nights: dict[str, int], seed: int) -> list[dict]:
    base = upto(dataset, nights, 0)
    first = new_model(name, base, seed)
    fit(first, base, EPOCHS_FULL[name], seed)
    naive = ours = (first, base.classes)
    champion_file = TMP / f"{name}_seed{seed}_champion.keras"
    first.save(champion_file)  # what the registry holds; the incremental step loads it
    champion_night = 0  # the champion was trained on the data up to this night
    rows = []
    for night in (1, 2, 3):
        data = upto(dataset, nights, night)
        old_keys = {k for k, n in nights.items() if n < night}  # for the scores
        # for the fine-tune and the guard, as in the pipeline (baseline.py): new is what
        # the champion was not trained on, so a rejected night's data stays new
        seen = {k for k, n in nights.items() if n <= champion_night}
        first_new = champion_night + 1
        start = time.perf_counter()
        full = new_model(name, data, seed)
        t_full_fit = fit(full, data, EPOCHS_FULL[name], seed)
        full_score = finetune.score_old_new("classification", full, data.classes, data, old_keys)
        t_full = time.perf_counter() - start
        # naive: fine-tune on the new rows only
        only_new, _ = replay.replay_dataset(data, old_keys, 0.0, seed)
        naive_model = new_model(name, data, seed, naive)
        t_naive = fit(naive_model, only_new, RECIPE["epochs"][name], seed,
                      RECIPE["batch_size"][name])
        # ours, timed whole: load the champion, score it, build and seed the model (weights,
        # balanced replay, distillation targets), fine-tune, score again, the guard
        clock = Clock()
        champion = (load_champion(champion_file), ours[1])
        clock.lap("load")
        champion_rows = finetune.row_outcomes("classification", champion[0], champion[1], data,
                                              seen)
        clock.lap("score_champion")
        keras.utils.set_random_seed(seed)
        ours_model = build_model(MODELS[name], data, RECIPE["learning_rate"][name])
        replayed, seeded = recipe.seed_finetune(
            "classification", champion[0], champion[1], ours_model, data, seen,
            replay_ratio=RECIPE["replay"], distillation_weight=RECIPE["distill"], seed=seed)
        clock.lap("build_seed")
        t_ours_fit = fit(ours_model, replayed, RECIPE["epochs"][name], seed,
                         RECIPE["batch_size"][name])
        clock.lap("fit")
        if BIAS_CORRECTION:
            finished = recipe.finish_finetune("classification", ours_model, data, champion[1])
        else:
            finished = {"restored_compile": restore_compile(ours_model)}
        clock.lap("finish")
        tuned_rows = finetune.row_outcomes("classification", ours_model, data.classes, data,
                                           seen)
        sides = finetune.compare(champion_rows, tuned_rows, data, seen, seed=seed)
        verdict = guard.judge(sides["old"], sides["new"], epsilon=RECIPE["epsilon"],
                              alpha=RECIPE["alpha"], metric="accuracy")
        accepted, reason = verdict.accepted, f"{verdict.verdict}: {verdict.reason}"
        clock.lap("score_judge")
        t_ours = clock.total()
        counts = {k: v for k, v in seeded["counts"].items() if k != "replay_per_class"}
        after = finetune.score_old_new("classification", ours_model, data.classes, data,
                                       old_keys)
        if accepted:
            ours, champion_night = (ours_model, data.classes), night
            ours_model.save(champion_file)  # registering it is not timed (nor for full)
        kept = finetune.score_old_new("classification", ours[0], ours[1], data, old_keys)
        scores = {"full": full_score,
                  "naive": finetune.score_old_new("classification", naive_model, data.classes,
                                                  data, old_keys),
                  "ours": kept}
        naive = (naive_model, data.classes)
        rows.append({"model": name, "night": night, "seed": seed, "accepted": accepted,
                     "reason": reason, "new_from_night": first_new, **counts, "tuned_old": after.old, "tuned_new": after.new,
                     **{f"{k}_old": v.old for k, v in scores.items()},
                     **{f"{k}_new": v.new for k, v in scores.items()},
                     "full_s": t_full, "naive_s": t_naive, "ours_s": t_ours,
                     "full_fit_s": t_full_fit, "ours_fit_s": t_ours_fit,
                     "ours_parts": clock.parts,
                     "bias_offset": (finished.get("bias_correction") or {}).get("bias_offset")})
        print(f"{name} night {night} seed {seed}: old full {scores['full'].old:.3f} naive "
              f"{scores['naive'].old:.3f} ours {kept.old:.3f} | new full {scores['full'].new:.3f}"
              f" naive {scores['naive'].new:.3f} ours {kept.new:.3f} | fine-tuned before the guard:"
              f" old {after.old:.3f} new {after.new:.3f} | time full {t_full:.1f}s ours "
              f"{t_ours:.1f}s (fits {t_full_fit:.1f}s, {t_ours_fit:.1f}s; ours: "
              f"{', '.join(f'{k} {v:.2f}s' for k, v in clock.parts.items())}) | guard: "
              f"{'accepted' if accepted else 'REJECTED: ' + reason}",
              flush=True)
    return rows


def per_seed(rows: list[dict]) -> list[dict[str, float]]:
    """Each seed's gaps to full retraining and whole-step speedup, over its nights."""
    out = []
    for seed in sorted({r["seed"] for r in rows}):
        mine = [r for r in rows if r["seed"] == seed]
        mean = {k: statistics.mean(r[k] for r in mine) for k in mine[0]
                if k.endswith(("_old", "_new", "_s"))}
        out.append({"old_gap": mean["full_old"] - mean["ours_old"],
                    "new_gap": mean["full_new"] - mean["ours_new"],
                    "naive_old_gap": mean["full_old"] - mean["naive_old"],
                    "speedup": mean["full_s"] / mean["ours_s"],
                    "fit_speedup": mean["full_fit_s"] / mean["ours_fit_s"]})
    return out


def spread(seeds: list[dict[str, float]]) -> dict:
    """{"key": {"mean", "sd", "min", "max"}} over seeds (sd 0 for one seed)."""
    out: dict = {"seeds": len(seeds)}
    for key in seeds[0]:
        values = [s[key] for s in seeds]
        out[key] = {"mean": round(statistics.mean(values), 4),
                    "sd": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
                    "min": round(min(values), 4), "max": round(max(values), 4)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--models", default=",".join(EPOCHS_FULL))
    parser.add_argument("--preset", default=RECIPE["preset"],
                        help="the nightly preset whose fine-tune settings are measured")
    parser.add_argument("--replay", type=float, default=None, help="old rows per new row")
    parser.add_argument("--tune-lr", type=float, default=None,
                        help="fine-tuning learning rate for every model")
    parser.add_argument("--tune-epochs", type=int, default=None,
                        help="fine-tuning epochs for every model")
    parser.add_argument("--tune-batch", type=int, default=None,
                        help="fine-tuning batch size for every model")
    parser.add_argument("--distill", type=float, default=None,
                        help="distillation weight on replayed rows (0 = labels only)")
    parser.add_argument("--no-bias-correction", action="store_true",
                        help="leave the new classes' logits as the fine-tune left them")
    parser.add_argument("--text-new", default=",".join(TEXT_NEW),
                        help="the text categories that arrive on nights 1, 2, 3")
    args = parser.parse_args()
    recipe_ = nightly_recipe(args.preset)  # the preset's, then the overrides asked for
    for key, value in (("learning_rate", args.tune_lr), ("epochs", args.tune_epochs),
                       ("batch_size", args.tune_batch)):
        if value is not None:
            recipe_[key] = {m: value for m in recipe_[key]}
    recipe_.update({k: v for k, v in (("replay", args.replay), ("distill", args.distill))
                    if v is not None})
    globals().update(RECIPE=recipe_, BIAS_CORRECTION=not args.no_bias_correction,
                     TEXT_NEW=tuple(args.text_new.split(",")))
    print(f"fine-tune as preset {args.preset!r} runs it (with overrides): {recipe_}", flush=True)
    data = args.data
    if data is None:
        from training_lib.demo.folder import make_demo_data

        data = TMP / "demo"
        make_demo_data(data)
    loaded = load_all(data, args.models.split(","))
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for name, (dataset, nights) in loaded.items():
            if name not in args.models.split(","):
                continue
            rows.extend(run_model(name, dataset, nights, seed))
    print(f"\n{'model':24} {'old: full naive ours':>22} {'new: full naive ours':>22} "
          f"{'speedup':>8} {'accepted':>8}   (means over nights and seeds)")
    summary = {}
    for name in sorted({r["model"] for r in rows}):
        mine = [r for r in rows if r["model"] == name]
        avg = {k: statistics.mean(r[k] for r in mine) for k in mine[0]
               if k.endswith(("_old", "_new", "_s"))}
        print(f"{name:24} {avg['full_old']:>8.3f} {avg['naive_old']:>6.3f} {avg['ours_old']:>6.3f}"
              f" {avg['full_new']:>8.3f} {avg['naive_new']:>6.3f} {avg['ours_new']:>6.3f}"
              f" {avg['full_s'] / avg['ours_s']:>7.1f}x {sum(r['accepted'] for r in mine):>5}/"
              f"{len(mine)}")
        summary[name] = spread(per_seed(mine))
        print("  over seeds: " + ", ".join(f"{k} {v['mean']:.4g} ± {v['sd']:.2g}"
                                          for k, v in summary[name].items() if k != "seeds"))
    goals = {m: v["old_gap"]["mean"] <= 0.01 and v["new_gap"]["mean"] <= 0.02
             and v["speedup"]["mean"] >= 3 for m, v in summary.items()}
    (TMP / "incremental_rows.json").write_text(json.dumps(rows, indent=1, default=str))
    print(json.dumps({"bench": "incremental", "recipe": RECIPE, "models": summary,
                      "goals_met": goals,
                      "rows": str(TMP / "incremental_rows.json")}))


if __name__ == "__main__":
    main()
