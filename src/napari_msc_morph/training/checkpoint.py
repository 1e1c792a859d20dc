"""Checkpoints of a training run and the checks that make ``--resume`` safe.

A checkpoint is the model and optimiser tensors of the last finished epoch in
``checkpoint.safetensors`` and everything else (epoch, history, best value,
scheduler and scaler state, the sha256 of the tensors) in ``checkpoint.json``.
Nothing is pickled. Both are written atomically, so an interrupted write
leaves the previous checkpoint.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from ..errors import BadInputError
from ..io import atomic_path, write_json
from ._json import json_safe
from .config import TrainConfig

__all__ = [
    "CHECKPOINT_JSON",
    "CHECKPOINT_WEIGHTS",
    "RESUME_KEYS",
    "apply_saved_split",
    "check_resume_compatible",
    "load_checkpoint",
    "read_saved_config",
    "save_checkpoint",
]

CHECKPOINT_WEIGHTS = "checkpoint.safetensors"
CHECKPOINT_JSON = "checkpoint.json"
#: Settings a resumed run must share with the interrupted one.
RESUME_KEYS = ("task", "backbone", "input_size", "in_chans", "downscale", "seed", "optimizer",
               "scheduler", "batch_size", "crops_per_field", "split_by")


def save_checkpoint(work_dir: Path, model, optimizer, state: dict) -> None:
    """Write the model and optimiser tensors and the JSON ``state`` of the run."""
    from safetensors.torch import save as save_safetensors

    def cpu(tensor):
        return tensor.detach().to("cpu").contiguous().clone()

    tensors = {f"model.{k}": cpu(v) for k, v in model.state_dict().items()}
    opt_state = optimizer.state_dict()
    scalars: dict = {}
    for idx, slot in opt_state["state"].items():
        for key, value in slot.items():
            if hasattr(value, "detach"):
                tensors[f"optimizer.{idx}.{key}"] = cpu(value)
            else:
                scalars.setdefault(str(idx), {})[key] = value
    blob = save_safetensors(tensors, metadata={"format": "pt"})
    with atomic_path(work_dir / CHECKPOINT_WEIGHTS) as tmp:
        tmp.write_bytes(blob)
    state = dict(state)
    state["optimizer_param_groups"] = opt_state["param_groups"]
    state["optimizer_scalars"] = scalars
    state["weights_sha256"] = hashlib.sha256(blob).hexdigest()
    write_json(json_safe(state), work_dir / CHECKPOINT_JSON)


def load_checkpoint(work_dir: Path, model, optimizer) -> dict:
    """Restore ``model`` and ``optimizer`` in place; return the saved JSON state."""
    import torch
    from safetensors.torch import load as load_safetensors

    json_path, weights_path = work_dir / CHECKPOINT_JSON, work_dir / CHECKPOINT_WEIGHTS
    if not json_path.is_file() or not weights_path.is_file():
        raise FileNotFoundError(
            f"Nothing to resume in {work_dir}: no {CHECKPOINT_JSON}/{CHECKPOINT_WEIGHTS}. "
            "Start without --resume."
        )
    state = json.loads(json_path.read_text())
    blob = weights_path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != state.get("weights_sha256"):
        raise BadInputError(
            f"{weights_path} does not match {json_path.name} (sha256 differs): the checkpoint "
            "was interrupted while being written or changed since; start without --resume."
        )
    tensors = load_safetensors(blob)
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")},
                          strict=True)
    slots: dict = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, idx, name = key.split(".", 2)
            slots.setdefault(int(idx), {})[name] = value
    for idx, extra in state.get("optimizer_scalars", {}).items():
        slots.setdefault(int(idx), {}).update(extra)
    optimizer.load_state_dict({"state": slots, "param_groups": state["optimizer_param_groups"]})
    # Optimizer tensors must sit beside their parameters (a CUDA run resumed on CUDA).
    device = next(model.parameters()).device
    for slot in optimizer.state.values():
        for key, value in slot.items():
            if torch.is_tensor(value) and key != "step":
                slot[key] = value.to(device)
    return state


def read_saved_config(work_dir: Path) -> dict:
    """The interrupted run's ``train_config.json``."""
    path = work_dir / "train_config.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"Nothing to resume in {work_dir}: no train_config.json. Start without --resume."
        )
    return json.loads(path.read_text())


def check_resume_compatible(saved: dict, config: TrainConfig) -> None:
    """Refuse a resume whose settings differ in a way the checkpoint cannot follow."""
    # Through TrainConfig, a run saved before a setting existed gets that setting's default.
    before = TrainConfig.from_dict(saved).to_dict()
    now = config.to_dict()
    differ = [f"{k} ({before.get(k)!r} -> {now.get(k)!r})" for k in RESUME_KEYS
              if before.get(k) != now.get(k)]
    if differ:
        raise BadInputError(
            "--resume needs the same settings as the interrupted run; these differ: "
            + ", ".join(differ) + ". Change them back, or start a new run without --resume."
        )


def apply_saved_split(table: pd.DataFrame, split_file: Path) -> pd.DataFrame:
    """``table`` with the interrupted run's split (every image must be in it)."""
    saved = pd.read_csv(split_file)
    # split.csv stores paths relative to its own folder; compare resolved paths
    folder = Path(split_file).parent
    mapping = {str((folder / p).resolve()): s
               for p, s in zip(saved["path"].astype(str), saved["split"].astype(str), strict=True)}
    missing = [p for p in table["path"] if str(Path(p).resolve()) not in mapping]
    if missing:
        raise BadInputError(
            f"--resume: {len(missing)} manifest image(s) (e.g. {missing[0]}) are not in the "
            f"interrupted run's {split_file.name}; resume with the same manifest."
        )
    table = table.copy()
    table["split"] = [mapping[str(Path(p).resolve())] for p in table["path"]]
    return table
