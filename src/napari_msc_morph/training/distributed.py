"""Multi-GPU / multi-process training with ``torchrun`` (DistributedDataParallel).

The trainer's hooks: join the process group, wrap the network in DDP, sum and share
epoch numbers; only rank 0 writes files. Outside ``torchrun`` everything is a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from ..errors import BadInputError
from ..models.backbones import DEVICES

__all__ = ["DistContext", "env_rank", "setup", "under_torchrun", "wrap"]

#: How long a process waits for the others at a collective (rank 0 validates,
#: writes the bundle and evaluates the test split while the others wait).
TIMEOUT = timedelta(hours=2)


def under_torchrun() -> bool:
    """Whether this process was started by ``torchrun`` with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1) > 1 and "RANK" in os.environ


def env_rank() -> int:
    """This process's global rank from the environment (0 outside ``torchrun``)."""
    return int(os.environ.get("RANK", "0") or 0) if under_torchrun() else 0


@dataclass
class DistContext:
    """Where this process stands in a distributed run (one process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    started_group: bool = False

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes files and reports."""
        return self.rank == 0

    def sum(self, values: list[float]) -> list[float]:
        """``values`` added over all processes (unchanged with one)."""
        if not self.active:
            return list(values)
        import torch
        import torch.distributed as dist

        device = f"cuda:{self.local_rank}" if dist.get_backend() == "nccl" else "cpu"
        tensor = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)
        dist.all_reduce(tensor)
        return tensor.cpu().tolist()

    def share(self, obj):
        """Rank 0's ``obj`` on every process."""
        if not self.active:
            return obj
        import torch.distributed as dist

        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist

            dist.barrier()

    def close(self) -> None:
        """Leave the process group this context joined."""
        if self.started_group:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
            self.started_group = False


def setup(device: str) -> tuple[DistContext, str]:
    """Join the ``torchrun`` process group; return ``(context, this process's device)``.

    CUDA: ``cuda:LOCAL_RANK`` and ``nccl``; CPU: ``gloo``. Outside ``torchrun``: ``(DistContext(), device)``.
    """
    if not under_torchrun():
        return DistContext(), device
    import torch
    import torch.distributed as dist

    ctx = DistContext(rank=int(os.environ["RANK"]), world_size=int(os.environ["WORLD_SIZE"]),
                      local_rank=int(os.environ.get("LOCAL_RANK", "0") or 0))
    backend = DEVICES.entry(device.split(":")[0]).extra.get("distributed")
    if backend is None:
        raise BadInputError(f"torchrun training runs on CUDA (nccl) or on the CPU (gloo); "
                            f"--device {device} is neither. Use --device cuda or --device cpu.")
    if backend == "nccl":  # one GPU per process
        if ctx.local_rank >= torch.cuda.device_count():
            raise BadInputError(
                f"torchrun started {ctx.world_size} processes but this machine has "
                f"{torch.cuda.device_count()} GPU(s); give --nproc-per-node at most that, "
                "or --device cpu.")
        device = f"cuda:{ctx.local_rank}"
        torch.cuda.set_device(ctx.local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=TIMEOUT)
        ctx.started_group = True
    return ctx, device


def wrap(model, ctx: DistContext, device: str):
    """``model`` in DistributedDataParallel (``model`` itself with one process)."""
    if not ctx.active:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [int(device.split(":")[1])] if device.startswith("cuda:") else None
    return DistributedDataParallel(model, device_ids=ids)

