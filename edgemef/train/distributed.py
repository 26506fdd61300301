"""Distributed data-parallel training under ``torchrun`` (NCCL on GPUs, gloo on CPUs).

``edgemef train ...`` runs unchanged under ``torchrun --nproc_per_node N``: :func:`from_env`
sees ``WORLD_SIZE > 1`` and joins the process group. Every rank builds the same model from the
same seed; the global batch of step ``s`` (:func:`~edgemef.train.dataset.step_indices`) is cut
into N equal contiguous shards (:func:`shard`), DDP averages the gradients, so N processes with
global batch B make the update one process with batch B makes (up to float summation order).
Rank 0 alone writes files; the checkpoint holds no per-rank state, so a run may resume with a
different N. Loss parts and the stop flag are all-reduced every step, so the logged curve is the
global batch's and a Ctrl-C seen by one rank stops all of them after the same step.

"Same update" is exact up to float rounding; how far rounding carries depends on the network.
DenseFuse and the two-phase network stay within ~1e-6 of a one-process run after a few steps;
STHDR does not (~3e-3 after 3 steps at lr 1e-3): its mu-law loss has gradient mu = 5000 at zero
radiance and Adam normalises near-zero gradients, so rounding noise moves weights by ~lr. One
process on 1 vs 2 threads differs by the same amount, so this is not a DDP error.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from edgemef.errors import EdgemefError


@dataclass
class DistContext:
    """Where this process stands: rank, world size, local rank, backend ('' when not distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    backend: str = ""

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def env_world_size() -> int:
    """WORLD_SIZE from the environment (1 when unset)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise EdgemefError(f"WORLD_SIZE={os.environ['WORLD_SIZE']!r} is not an integer") from None


def from_env(device: torch.device) -> DistContext:
    """Join the torchrun process group when ``WORLD_SIZE > 1`` (idempotent); else single-process.

    Args:
        device: the resolved training device; 'cuda' becomes ``cuda:LOCAL_RANK`` and NCCL.
    """
    import torch.distributed as dist

    world = env_world_size()
    if world <= 1:
        return DistContext()
    if not dist.is_available():
        raise EdgemefError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, init_method="env://")
    rank, local = dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0"))
    return DistContext(rank, dist.get_world_size(), local, dist.get_backend())


def rank_device(device: torch.device, ctx: DistContext) -> torch.device:
    """``cuda:LOCAL_RANK`` for a distributed CUDA run (and make it current), else ``device``."""
    if ctx.enabled and device.type == "cuda":
        torch.cuda.set_device(ctx.local_rank)
        return torch.device("cuda", ctx.local_rank)
    return device


def shard(indices: list[int], ctx: DistContext) -> list[int]:
    """This rank's contiguous, equal share of a global batch's sample indices."""
    if not ctx.enabled:
        return indices
    if len(indices) % ctx.world:
        raise EdgemefError(f"global batch {len(indices)} does not split evenly over {ctx.world} processes")
    n = len(indices) // ctx.world
    return indices[ctx.rank * n:(ctx.rank + 1) * n]


def wrap(module: torch.nn.Module, ctx: DistContext, device: torch.device) -> torch.nn.Module:
    """``module`` in DistributedDataParallel when distributed (gradients averaged), else itself."""
    if not ctx.enabled:
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def mean_parts(parts: dict[str, float], ctx: DistContext, device: torch.device) -> dict[str, float]:
    """Average the loss parts over ranks (every rank has the same keys)."""
    if not ctx.enabled:
        return parts
    import torch.distributed as dist

    keys = sorted(parts)
    t = torch.tensor([float(parts[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return {k: float(v) / ctx.world for k, v in zip(keys, t.tolist())}


def any_rank(flag: bool, ctx: DistContext, device: torch.device) -> bool:
    """True on every rank when ``flag`` is True on any."""
    if not ctx.enabled:
        return flag
    import torch.distributed as dist

    t = torch.tensor([1 if flag else 0], dtype=torch.int32, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        import torch.distributed as dist

        dist.barrier()


def shutdown(ctx: DistContext) -> None:
    """Leave the process group (end of a distributed run)."""
    if ctx.enabled:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
