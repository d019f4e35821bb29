"""Which rank this process is, and the two collectives the losses need.

Contrastive losses see every rank's batch, so they must gather features; keeping that
behind one small value lets the same loss code run in one process (where every
collective is the identity) and under torchrun/accelerate without branching on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor

from .errors import WzooError


class DistContextError(WzooError, RuntimeError):
    """A rank/world size that cannot be right, or collectives without a process group."""


@dataclass(frozen=True)
class DistContext:
    """This process's place among the data-parallel ranks (one process by default)."""

    rank: int = 0
    world_size: int = 1

    def __post_init__(self):
        if self.world_size < 1 or not 0 <= self.rank < self.world_size:
            raise DistContextError(
                f"rank {self.rank} with world size {self.world_size} is impossible; "
                "need world_size >= 1 and 0 <= rank < world_size"
            )

    @classmethod
    def current(cls) -> DistContext:
        """The default process group's rank and size, or one process when there is none."""
        if dist.is_available() and dist.is_initialized():
            return cls(rank=dist.get_rank(), world_size=dist.get_world_size())
        return cls()

    def gather(self, tensor: Tensor, with_grad: bool = False) -> Tensor:
        """Every rank's `tensor` concatenated along dim 0, in rank order.

        All ranks must pass the same shape. With `with_grad` the gradient of each slot
        flows back to the rank that owns it (what makes a local loss exact); without it
        only this rank's own slot keeps its graph, the others are constants.
        """
        if self.world_size == 1:
            return tensor
        self._need_group()
        tensor = tensor.contiguous()
        if with_grad:
            import torch.distributed.nn.functional as dist_nn

            return torch.cat(dist_nn.all_gather(tensor), dim=0)
        slots = [torch.zeros_like(tensor) for _ in range(self.world_size)]
        dist.all_gather(slots, tensor)
        slots[self.rank] = tensor  # all_gather's copy has no graph; the local one does
        return torch.cat(slots, dim=0)

    def reduce_mean(self, value: float) -> float:
        """The mean of a python number over ranks, e.g. to log one loss for the step."""
        if self.world_size == 1:
            return float(value)
        self._need_group()
        device = torch.device("cpu")
        if dist.get_backend() == "nccl":  # NCCL only reduces tensors on the GPU
            device = torch.device("cuda", torch.cuda.current_device())
        buf = torch.tensor([float(value)], dtype=torch.float64, device=device)
        dist.all_reduce(buf, op=dist.ReduceOp.SUM)
        return buf.item() / self.world_size

    def _need_group(self) -> None:
        if not (dist.is_available() and dist.is_initialized()):
            raise DistContextError(
                f"world size {self.world_size} needs torch.distributed initialised; "
                "launch with torchrun/accelerate or use DistContext.current()"
            )
