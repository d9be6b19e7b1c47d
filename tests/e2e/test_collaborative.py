"""Two rounds of a collaborative preset through `dag.test()` on tiny real paired data:
knowledge artifacts are written between the rounds (not XCom), the second round
trains on them, the saved models keep their own loss, and a model missing from a
round is skipped by name in that round's summary."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
pytestmark = pytest.mark.slow


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray((pixels / 16.0 * 255).astype(np.uint8)).resize((32, 32)).save(buffer, "PNG")
    return buffer.getvalue()


def _tone(digit: int, k: int) -> bytes:
    import soundfile

    t = np.arange(8000) / 16000
    wave = 0.3 * np.sin(2 * np.pi * (220 + 90 * digit) * t + k) * (1 + 0.05 * k)
    buffer = io.BytesIO()
    soundfile.write(buffer, wave.astype(np.float32), 16000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def write_paired_data(root: Path, per_class: int = 10, unlabeled: int = 8) -> dict[str, str]:
    """images/<d>/ (labeled) and images/unlabeled_<n>.png (no class folder), tones in
    audio/<word>/, pairs.jsonl linking an image and a tone of one digit (no captions).
    The unlabeled images are ones vision_service's split puts in training; returns
    {content hash: digit} of them."""
    from sklearn.datasets import load_digits

    from training_lib.data.records import split_of

    digits = load_digits()
    labeled: dict[int, list[str]] = {d: [] for d in range(10)}
    hidden: dict[str, str] = {}
    pairs = []
    for i, (pixels, target) in enumerate(zip(digits.images, digits.target)):
        d = int(target)
        data = _png(pixels)
        if len(labeled[d]) < per_class:
            rel = f"images/{d}/digit_{i:04d}.png"
            labeled[d].append(rel)
        elif len(hidden) < unlabeled and split_of(hashlib.sha256(data).hexdigest()) == "train":
            rel = f"images/unlabeled_{i:04d}.png"
            hidden[hashlib.sha256(data).hexdigest()] = str(d)
            pairs.append({"image": rel, "label": str(d)})
        else:
            if all(len(v) >= per_class for v in labeled.values()) and len(hidden) >= unlabeled:
                break
            continue
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    for d, word in enumerate(WORDS):
        for k in range(4):
            rel = f"audio/{word}/tone_{k}.wav"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(_tone(d, k))
        pairs += [{"image": labeled[d][k], "label": str(d)} for k in range(3)]
    lines = [{"image": p["image"], "audio": f"audio/{WORDS[int(p['label'])]}/tone_{n % 4}.wav",
              "text": None, "label": p["label"]} for n, p in enumerate(pairs)]
    (root / "pairs.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return hidden


def test_collaborative_preset_shares_knowledge_between_two_rounds(tmp_path, airflow_db,
                                                                   monkeypatch):
    monkeypatch.setenv("TLIB_PRESETS_DIR", str(FIXTURES / "presets"))
    dags = tmp_path / "dags"  # dag.test() serializes the DAG from a DAG folder's file
    dags.mkdir()
    (dags / "collaborative_tiny.py").write_text(
        "from tlib_airflow.dag_builder import build_preset_dag\n\n"
        "dag = build_preset_dag(__file__)\n")
    # dag.test() serializes from its DAG bundles; settings.DAGS_FOLDER is fixed at import,
    # so point the bundle list (read on every call) at this folder instead
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([{
        "name": "collab-test", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(dags), "refresh_interval": 0}}]))
    from tlib_airflow.dag_builder import build_dag
    from training_lib.collab import knowledge
    from training_lib.config import load_preset
    from training_lib.pipeline import stages
    from training_lib.runs.context import load_run, run_dir_for
    from training_lib.runs.folder import RunFolder

    data = tmp_path / "paired"
    hidden = write_paired_data(data)
    dag = build_dag(load_preset("collaborative_tiny"))
    dag_run = dag.test(run_conf={"data_folder": str(data)})
    states = {ti.task_id: str(getattr(ti.state, "value", ti.state))
              for ti in dag_run.get_task_instances()}
    assert states and set(states.values()) == {"success"}, states
    assert "share_knowledge_1" in states

    run_dir = run_dir_for("collaborative_tiny", dag_run.run_id)
    run = RunFolder(run_dir)
    folder = run.knowledge(1)
    summary = json.loads((folder / "summary.json").read_text())
    assert sorted(summary["finished"]) == ["multimodal_service", "vision_service"]
    assert summary["skipped_failed"] == []
    assert summary["label_space"]["labels"] == [str(d) for d in range(10)]
    assert summary["shared_text"]["models"] == ["multimodal_service"]  # nobody to merge with

    # vision learns the hidden images' digits from the multimodal model's view of the pairs
    vision = knowledge.read_student(folder, "vision_service")
    assert vision is not None and vision.confident.any()
    assert set(vision.keys.tolist()) >= set(hidden)
    np.testing.assert_allclose(vision.cotrain[vision.confident].sum(axis=1), 1.0, rtol=1e-5)
    used = json.loads(run.round("vision_service", 2).collaboration.read_text())
    assert used["added_pseudo_labeled"] >= len(hidden) and used["matched_own_rows"] >= 1
    assert used["train_rows"] == used["own_rows"] + used["added_rows"]
    multi = json.loads(run.round("multimodal_service", 2).collaboration.read_text())
    assert multi["matched_own_rows"] == multi["knowledge_rows"]  # every pair was labeled

    for model in ("vision_service", "multimodal_service"):
        result = run.round(model, 2).read_result()
        assert result["warm_started_from"].endswith(f"{model}/round_1/model.keras")
        with zipfile.ZipFile(run.round(model, 2).model_file) as saved:
            config = saved.read("config.json").decode()
        assert "CollaborativeLoss" not in config and "SparseCategoricalCrossentropy" in config
    evaluation = json.loads(run.evaluation.read_text())
    assert {m: r["status"] for m, r in evaluation.items()} == {
        "vision_service": "trained", "multimodal_service": "trained"}
    report = json.loads(next(run.report_dir.glob("training_report_*.json")).read_text())
    assert report["knowledge"][0]["round"] == 1

    # a model that did not finish a round: its knowledge is skipped, and the summary says so
    run.round("multimodal_service", 1).result.unlink()
    stages.share_knowledge(load_run(run_dir), 1)
    again = json.loads((folder / "summary.json").read_text())
    assert again["skipped_failed"] == ["multimodal_service"]
    assert "did not finish" in again["skipped"]["multimodal_service"]
    assert knowledge.read_student(folder, "vision_service") is None  # no peer left to teach it
