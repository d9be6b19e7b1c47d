"""What a collaboration strategy is: one registered class with a share half (the
`share_knowledge` task, between rounds) and a consume half (a student's worker, before
it fits the next round).

    @STRATEGIES.register                      # config.extensions
    class MyStrategy(Strategy):
        name = "my_strategy"                  # what `collaboration.strategies` lists

        def share(self, participants, settings):   # -> (payload, summary)
        def write(self, folder, payload):          # payload -> knowledge/round_<k>/
        def read(self, folder, student):           # knowledge/round_<k>/ -> payload
        def consume(self, model, dataset, payload, cfg):  # -> (dataset to fit, stats)

`PairedTargets` strategies (cotraining, distillation) teach through targets on paired
items: share.py predicts every item once for all of them, each turns the teachers'
outputs into its targets (`targets`), and consume.py stacks each one's row target
(`row_target`) into the hard or soft columns of `collab/losses.py`'s CollaborativeLoss.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Sequence

if TYPE_CHECKING:
    import numpy as np

    from training_lib.collab.knowledge import StudentKnowledge
    from training_lib.config.schema import Collaboration, PresetModel
    from training_lib.data.dataset import Dataset


class Strategy:
    """Base of a registered strategy; the halves it does not override do nothing."""

    name: ClassVar[str]
    paired: ClassVar[bool] = False

    # ---- share half: between rounds, from the models that finished the round ----------
    def share(self, participants: Sequence[Any], settings: "PresetModel") -> tuple[Any, dict]:
        """(payload for the next round or None, summary of what was shared)."""
        return None, {}

    def write(self, folder: Path, payload: Any) -> None:
        """Write `payload` into the round's knowledge folder (atomically, idempotently)."""

    # ---- consume half: a student's worker, before it fits the next round ---------------
    def read(self, folder: Path, student: str) -> Any:
        """What `student` takes from the round's knowledge folder (None: nothing)."""
        return None

    def consume(self, model: Any, dataset: "Dataset", payload: Any,
                cfg: "Collaboration") -> tuple["Dataset", dict[str, Any]]:
        """(dataset to fit on, stats); may also change `model` (e.g. its weights)."""
        return dataset, {}


class PairedTargets(Strategy):
    """A strategy that teaches a student through targets on paired items."""

    paired = True
    role: ClassVar[Literal["hard", "soft"]]  # which CollaborativeLoss columns it fills

    def targets(self, probs: Sequence["np.ndarray"], soft: Sequence["np.ndarray"],
                seen: Sequence["np.ndarray"], weights: Sequence[float],
                cfg: "Collaboration") -> tuple["np.ndarray", "np.ndarray"]:
        """Share half: (targets (n, L) in the shared label space, has-target mask (n,))
        from every teacher's probabilities (`probs`, T = 1) and softened ones (`soft`)."""
        raise NotImplementedError

    def row_target(self, student: "StudentKnowledge", row: int,
                   cfg: "Collaboration") -> "np.ndarray":
        """Consume half: this strategy's target of knowledge row `row` (zeros: none)."""
        raise NotImplementedError


def chosen_strategies(names: Sequence[str]) -> list[Strategy]:
    """The registered strategies `names` lists (a preset's `collaboration.strategies`), in
    that order; KeyError naming the known ones for a name nobody registered."""
    from training_lib.config.extensions import STRATEGIES

    return [STRATEGIES.get(name)() for name in names]
