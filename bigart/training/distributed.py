"""One training job over several processes, started by ``torchrun``: process group, device, small collectives.

Under ``torchrun`` (``WORLD_SIZE`` > 1 in the environment) the process group is initialised with NCCL on CUDA and
gloo on CPU; each rank trains on its share of every batch and DistributedDataParallel averages the gradients.
Without torchrun everything here is a no-op for a single process.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch
import torch.distributed as dist
from torch import nn


class DistContext:
    """Rank, world size and device of this process; ``close()`` tears down a group this object started."""

    def __init__(self, device: str = "cpu") -> None:
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        dev = torch.device(device)
        if dev.type == "cuda":
            if not torch.cuda.is_available():
                raise RuntimeError("device cuda asked for, but torch sees no CUDA device")
            index = self.local_rank if self.world_size > 1 else (dev.index or 0)
            dev = torch.device("cuda", index)
            torch.cuda.set_device(dev)
        self.device = dev
        self._owns_group = False
        if self.world_size > 1 and not dist.is_initialized():
            dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
            self._owns_group = True
        if self.world_size > 1:
            self.rank, self.world_size = dist.get_rank(), dist.get_world_size()

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def wrap(self, module: nn.Module) -> nn.Module:
        """DistributedDataParallel around ``module`` when distributed; the module itself otherwise.

        Buffers are synchronised once, at construction, not on every forward: they change only through deterministic
        updates (spectral-norm vectors, averages reduced over ranks), so the ranks keep them equal themselves.
        """
        if not self.distributed:
            return module
        import inspect
        import warnings

        from torch.nn.parallel import DistributedDataParallel

        # parameters that are transposed views (equalised-lr dense layers) get grads whose strides differ from
        # DDP's buckets; DDP copies them, which is correct, and says so on every backward
        warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
        ids = [self.device.index] if self.device.type == "cuda" else None
        if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters:  # torch >= 2.12
            return DistributedDataParallel(module, device_ids=ids, forward_sync_buffers=False)
        return DistributedDataParallel(module, device_ids=ids, broadcast_buffers=False)

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def sum(self, values: Sequence[float]) -> list[float]:
        """Element-wise sum over ranks (float64)."""
        if not self.distributed:
            return [float(v) for v in values]
        t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=self._comm_device)
        dist.all_reduce(t)
        return t.cpu().tolist()

    def mean_tensor(self, t: torch.Tensor) -> torch.Tensor:
        """The average of ``t`` over ranks."""
        if not self.distributed:
            return t
        t = t.detach().clone()
        dist.all_reduce(t)
        return t / self.world_size

    def broadcast_flag(self, flag: bool) -> bool:
        """Rank 0's ``flag`` on every rank."""
        if not self.distributed:
            return flag
        t = torch.tensor([1 if flag else 0], dtype=torch.int64, device=self._comm_device)
        dist.broadcast(t, 0)
        return bool(t.item())

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order, on every rank."""
        if not self.distributed:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    @property
    def _comm_device(self) -> torch.device:
        return self.device if self.device.type == "cuda" else torch.device("cpu")

    def close(self) -> None:
        if self._owns_group and dist.is_initialized():
            dist.destroy_process_group()
            self._owns_group = False
