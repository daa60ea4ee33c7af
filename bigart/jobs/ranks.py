"""Which share of a job this process does when started by ``torchrun``: rank ``r`` of ``world`` takes the work items
``r, r + world, ...``. The process group (gloo, CPU or GPU alike) is only used to wait for one another."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

from bigart.engine.threads import physical_cores
from bigart.errors import BigartError

# A barrier waits for the slowest process to finish its share, which may take hours on a large export.
BARRIER_TIMEOUT = datetime.timedelta(hours=12)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as e:
        raise BigartError(f"environment variable {name}={value!r} is not a number") from e


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1
    owns_group: bool = False

    @classmethod
    def from_env(cls) -> Ranks:
        """From ``RANK``/``WORLD_SIZE`` (set by torchrun); joins the gloo process group when ``WORLD_SIZE > 1``."""
        world, rank = _env_int("WORLD_SIZE", 1), _env_int("RANK", 0)
        if world < 1 or not 0 <= rank < world:
            raise BigartError(f"RANK={rank} does not fit WORLD_SIZE={world}")
        local_rank, local_world = _env_int("LOCAL_RANK", 0), _env_int("LOCAL_WORLD_SIZE", world)
        owns = False
        if world > 1:
            import torch.distributed as dist

            if not dist.is_initialized():
                dist.init_process_group("gloo", timeout=BARRIER_TIMEOUT)
                owns = True
        return cls(rank, world, local_rank, max(1, local_world), owns)

    def share(self, items: list) -> list:
        """This process's items: ``items[rank::world]``."""
        return items[self.rank :: self.world]

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def close(self) -> None:
        if self.owns_group:
            import torch.distributed as dist

            dist.destroy_process_group()

    def device(self, device: str) -> str:
        """``cuda`` becomes ``cuda:LOCAL_RANK`` when several processes share a machine."""
        return f"cuda:{self.local_rank}" if self.world > 1 and device == "cuda" else device

    def threads(self) -> int:
        """Threads per process: the physical cores shared by the processes on this machine."""
        return max(1, physical_cores() // self.local_world)
