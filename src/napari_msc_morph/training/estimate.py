"""How long a training run will take, before it starts, and settings that fit the machine.

From a measured per-image cost table (``benchmarks/train_cost_table.py``), not a timed
pass, which would block the GUI and load the network.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CPU_SECONDS_PER_IMAGE_224", "GPU_SPEEDUP", "TrainEstimate", "estimate_training",
           "machine_defaults", "format_duration"]

#: backbone -> (train s/image, evaluation s/image) at 224 px on 2 CPU threads, measured by
#: ``benchmarks/train_cost_table.py`` on the 2-core development machine while other jobs
#: ran (load average about 9), so they err on the slow side for an idle computer; rerun the
#: benchmark to refresh them. convnext_tiny and resnext50_32x4d are resnet50's figures
#: scaled by their FLOPs (4.5 and 4.3 vs 4.1 GFLOPs), not measured.
CPU_SECONDS_PER_IMAGE_224: dict[str, tuple[float, float]] = {
    "test_resnet": (0.33, 0.15),
    "resnet10t": (0.56, 0.16),
    "resnet18": (0.84, 0.30),
    "efficientnet_b0": (5.0, 0.79),
    "resnet50": (3.1, 0.96),
    "convnext_tiny": (3.4, 1.05),
    "resnext50_32x4d": (3.3, 1.0),
}
#: Backbones not in the table are costed like this one (a mid-sized network).
FALLBACK_BACKBONE = "resnet50"
#: Assumed speed-up of a CUDA/MPS GPU over the table's CPU (order of magnitude).
GPU_SPEEDUP = 30.0
#: Tiles predicted per validation/test field (the ``six`` tiling).
EVAL_TILES = 6

#: What the Train dock starts with on a machine without a GPU: minutes, not hours.
CPU_DEFAULTS = {"backbone": "resnet10t", "input_size": 224, "epochs": 10}


@dataclass(frozen=True)
class TrainEstimate:
    """A training-time estimate: total seconds and the assumptions behind it."""

    seconds: float
    per_epoch_seconds: float
    device: str
    basis: str

    def text(self) -> str:
        """One line for a label: ``≈ 12 min (1.2 min/epoch on cpu; …)``."""
        return (f"≈ {format_duration(self.seconds)} "
                f"({format_duration(self.per_epoch_seconds)}/epoch on {self.device}; "
                f"{self.basis})")


def format_duration(seconds: float) -> str:
    """``42 s``, ``3.5 min``, ``2.1 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def estimate_training(n_fields: int, backbone: str, input_size: int, epochs: int,
                      device: str = "cpu", crops_per_field: int = 16, val: float = 0.15,
                      test: float = 0.15) -> TrainEstimate:
    """Estimate a run's duration from :data:`CPU_SECONDS_PER_IMAGE_224`.

    ``n_fields`` counts the images of all splits; the other arguments are as in
    :class:`~napari_msc_morph.training.TrainConfig` (``device`` resolved).
    """
    basis = "cost table"
    if backbone not in CPU_SECONDS_PER_IMAGE_224:
        basis = f"{backbone} costed like {FALLBACK_BACKBONE}"
    train_cost, eval_cost = CPU_SECONDS_PER_IMAGE_224.get(
        backbone, CPU_SECONDS_PER_IMAGE_224[FALLBACK_BACKBONE])
    scale = (max(int(input_size), 1) / 224.0) ** 2
    on_gpu = not str(device).startswith("cpu")
    if on_gpu:
        scale /= GPU_SPEEDUP
        basis += f", GPU assumed {GPU_SPEEDUP:g}x the CPU"
    n = max(int(n_fields), 0)
    n_val, n_test = round(n * val), round(n * test)
    n_train = max(n - n_val - n_test, 0)
    per_epoch = scale * (n_train * crops_per_field * train_cost + n_val * EVAL_TILES * eval_cost)
    total = per_epoch * max(int(epochs), 0) + scale * n_test * EVAL_TILES * eval_cost
    return TrainEstimate(total, per_epoch, str(device), basis)


def machine_defaults(task: str, device: str) -> dict:
    """Backbone, input size and epochs that fit ``device`` (CPU: :data:`CPU_DEFAULTS`; GPU: the recipe)."""
    if str(device).startswith("cpu"):
        return dict(CPU_DEFAULTS)
    from .config import TrainConfig
    from .recipes import RECIPES

    for name in RECIPES.names():
        recipe = RECIPES.get(name)
        if recipe.task == task:
            return {"backbone": recipe.backbone, "input_size": recipe.input_size,
                    "epochs": recipe.epochs}
    fields = TrainConfig.__dataclass_fields__
    return {key: fields[key].default for key in ("backbone", "input_size", "epochs")}
