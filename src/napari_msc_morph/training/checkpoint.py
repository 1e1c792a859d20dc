"""Checkpoints of a training run and the checks that make ``--resume`` safe.

One ``checkpoint.safetensors`` (tensors, with the JSON state as metadata; nothing
pickled) is replaced atomically, so a kill leaves the previous checkpoint or the new one.
Older runs' ``checkpoint.json`` + tensors pairs still resume.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import pandas as pd

from ..errors import BadInputError
from ..io import atomic_path
from ._json import json_safe
from .config import TrainConfig
from .splits import apply_split_file

__all__ = [
    "CHECKPOINT_JSON",
    "CHECKPOINT_WEIGHTS",
    "RESUME_KEYS",
    "apply_saved_split",
    "check_resume_compatible",
    "checkpoint_state",
    "load_checkpoint",
    "read_saved_config",
    "save_checkpoint",
    "write_durably",
]

CHECKPOINT_WEIGHTS = "checkpoint.safetensors"
#: The state file of the old two-file layout (read for resuming old runs; no longer written).
CHECKPOINT_JSON = "checkpoint.json"
#: The metadata key holding the run's JSON state inside the checkpoint file.
STATE_KEY = "msc_morph_state"
#: Settings a resumed run must share with the interrupted one.
RESUME_KEYS = ("task", "backbone", "input_size", "in_chans", "downscale", "seed", "optimizer",
               "scheduler", "batch_size", "crops_per_field", "split_by")


def write_durably(data: bytes, target: Path) -> Path:
    """Write ``data`` to ``target`` through a fsynced temporary file and rename, then fsync the folder."""
    with atomic_path(target, suffix=".tmp") as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    with contextlib.suppress(OSError):  # e.g. Windows cannot open a folder; its rename is durable
        fd = os.open(Path(target).parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return Path(target)


def save_checkpoint(work_dir: Path, model, optimizer, state: dict) -> Path:
    """Write the model and optimiser tensors and the JSON ``state`` as one file, atomically."""
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
    state = dict(state)
    state["optimizer_param_groups"] = opt_state["param_groups"]
    state["optimizer_scalars"] = scalars
    blob = save_safetensors(tensors, metadata={
        "format": "pt", STATE_KEY: json.dumps(json_safe(state))})
    target = write_durably(blob, Path(work_dir) / CHECKPOINT_WEIGHTS)
    # temporary files of a checkpoint write that was killed (never read; only disk space)
    for stale in Path(work_dir).glob(f".{CHECKPOINT_WEIGHTS}.*.tmp"):
        stale.unlink(missing_ok=True)
    # A state file of the old layout beside the new checkpoint would only mislead.
    (Path(work_dir) / CHECKPOINT_JSON).unlink(missing_ok=True)
    return target


def _read_checkpoint(work_dir: Path) -> tuple[dict, bytes]:
    """``(state, tensor bytes)`` of either layout, or a BadInputError saying why not."""
    from safetensors import safe_open

    json_path, weights_path = work_dir / CHECKPOINT_JSON, work_dir / CHECKPOINT_WEIGHTS
    if not weights_path.is_file():
        raise FileNotFoundError(
            f"Nothing to resume in {work_dir}: no {CHECKPOINT_WEIGHTS} (no epoch finished "
            "writing its checkpoint: the run was stopped, or the disk was full, during its "
            "first epoch). Start the run again with --overwrite instead of --resume."
        )
    blob = weights_path.read_bytes()
    try:
        with safe_open(str(weights_path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except Exception as err:  # safetensors raises its own kinds for a damaged file
        raise BadInputError(
            f"{weights_path} is damaged ({err}); it cannot be resumed. Start without --resume "
            "(the best bundle so far is kept)."
        ) from err
    if STATE_KEY in metadata:
        return json.loads(metadata[STATE_KEY]), blob
    # the old two-file layout: the state and the tensors' sha256 in checkpoint.json
    if not json_path.is_file():
        raise BadInputError(
            f"{weights_path} holds no run state and there is no {CHECKPOINT_JSON} beside it; "
            "it cannot be resumed. Start without --resume."
        )
    state = json.loads(json_path.read_text())
    if hashlib.sha256(blob).hexdigest() != state.get("weights_sha256"):
        raise BadInputError(
            f"{weights_path} does not match {json_path.name} (sha256 differs): this old-style "
            "checkpoint was interrupted while being written or changed since; start without "
            "--resume."
        )
    return state, blob


def checkpoint_state(work_dir) -> dict:
    """The JSON state of ``work_dir``'s checkpoint (epoch, history, ...), without the tensors."""
    return _read_checkpoint(Path(work_dir))[0]


def load_checkpoint(work_dir: Path, model, optimizer) -> dict:
    """Restore ``model`` and ``optimizer`` in place; return the saved JSON state."""
    from safetensors.torch import load as load_safetensors

    state, blob = _read_checkpoint(Path(work_dir))
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
    # load_state_dict moves the tensors beside their parameters (a CUDA run resumed on CUDA)
    optimizer.load_state_dict({"state": slots, "param_groups": state["optimizer_param_groups"]})
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
    table = apply_split_file(table, split_file)
    missing = table.loc[table["split"] == "", "path"].tolist()
    if missing:
        raise BadInputError(
            f"--resume: {len(missing)} manifest image(s) (e.g. {missing[0]}) are not in the "
            f"interrupted run's {split_file.name}; resume with the same manifest."
        )
    return table
