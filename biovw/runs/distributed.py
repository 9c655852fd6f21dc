"""Data-parallel training with ``torch.distributed``, started by ``torchrun``.

``torchrun --nproc_per_node N -m biovw train CONFIG`` starts N processes; each finds its rank
and the world size in its environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``) and joins one
process group (gloo on the CPU, nccl on CUDA, each process on GPU ``LOCAL_RANK``).

``train.batch_size`` stays the global batch: each process draws the global batch's example
indices and noise from the shared, identically seeded generators and keeps its slice
(:class:`biovw.walkback.BatchShard`), so the processes together compute exactly what one
process computes, to float rounding, and every process's generators stay in the state a single
process's would be in (a checkpoint written by rank 0 resumes any number of processes).
Gradients are averaged at every optimiser step; the statistics of a step (p*'s moments, the
logged loss) are taken over the global batch. Rank 0 alone writes the run directory; a stop
signal received by any process stops all of them at the end of the same iteration. A process
that dies makes the others fail at their next collective operation, or after
:func:`timeout_seconds`, with :class:`PeerLost`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

from biovw.config import ConfigError
from biovw.walkback import BatchShard

TIMEOUT_ENV = "BIOVW_DIST_TIMEOUT"
"""Environment variable: seconds a process waits for the others at a collective operation."""
DEFAULT_TIMEOUT = 300.0


class PeerLost(RuntimeError):
    """Another process of a data-parallel job stopped or stopped answering."""


def timeout_seconds() -> float:
    """Seconds a collective operation waits for the other processes (``BIOVW_DIST_TIMEOUT``,
    default 300)."""
    value = os.environ.get(TIMEOUT_ENV, str(DEFAULT_TIMEOUT))
    try:
        seconds = float(value)
    except ValueError as exc:
        raise ConfigError(f"{TIMEOUT_ENV} must be a number of seconds, got {value!r}") from exc
    if not seconds > 0:
        raise ConfigError(f"{TIMEOUT_ENV} must be positive, got {value!r}")
    return seconds


@dataclass(frozen=True)
class DataParallel:
    """This process's place in a data-parallel job (``world_size`` 1: a single process, and
    every method is a no-op).

    Attributes
    ----------
    rank : int
    world_size : int
    control : Any
        Process group of the control messages (stop requests, run directory) on the CPU: the
        default group under gloo, a gloo group beside nccl.
    """

    rank: int = 0
    world_size: int = 1
    control: Any = None

    @property
    def active(self) -> bool:
        """Whether more than one process trains."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Whether this process writes the run directory (rank 0)."""
        return self.rank == 0

    def check_batch(self, batch_size: int) -> None:
        """Raise :class:`ConfigError` unless the global batch splits evenly over the
        processes."""
        if batch_size % self.world_size:
            raise ConfigError(f"train.batch_size {batch_size} must be divisible by the number "
                              f"of data-parallel processes ({self.world_size})")

    def shard(self, batch_size: int) -> BatchShard | None:
        """This process's rows of a global batch (None for a single process)."""
        if not self.active:
            return None
        per = batch_size // self.world_size
        return BatchShard(self.rank * per, (self.rank + 1) * per, batch_size)

    def average_gradients(self, params: list[torch.nn.Parameter]) -> None:
        """Replace each gradient by its mean over the processes (one flat all-reduce)."""
        if not self.active:
            return
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        self._call(dist.all_reduce, flat)
        flat.div_(self.world_size)
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    def gather_rows(self, x: Tensor) -> Tensor:
        """The global batch whose shard this process holds as ``x`` (rows in rank order)."""
        if not self.active:
            return x
        parts = [torch.empty_like(x) for _ in range(self.world_size)]
        self._call(dist.all_gather, parts, x.contiguous())
        return torch.cat(parts)

    def sum(self, x: Tensor) -> Tensor:
        """``x`` summed over the processes (a new tensor)."""
        if not self.active:
            return x
        total = x.clone()
        self._call(dist.all_reduce, total)
        return total

    def any_stop(self, signum: int | None) -> int | None:
        """The largest stop signal any process received (None if none did)."""
        if not self.active:
            return signum
        flag = torch.tensor([signum or 0])
        self._call(dist.all_reduce, flag, op=dist.ReduceOp.MAX, group=self.control)
        return int(flag) or None

    def share(self, value: Any) -> Any:
        """Rank 0's ``value`` (a picklable object), on every process."""
        if not self.active:
            return value
        box = [value]
        self._call(dist.broadcast_object_list, box, src=0, group=self.control)
        return box[0]

    def barrier(self) -> None:
        """Wait until every process gets here."""
        if self.active:
            self._call(dist.barrier, group=self.control)

    def _call(self, collective, *args, **kwargs) -> None:
        try:
            collective(*args, **kwargs)
        except RuntimeError as exc:  # DistBackendError and gloo's errors are RuntimeErrors
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise PeerLost(f"rank {self.rank} of {self.world_size}: another process of the "
                           f"data-parallel job stopped or did not answer ({first})") from exc


SINGLE = DataParallel()
"""One process."""


def launched_by_torchrun() -> bool:
    """Whether the environment describes a process of a job of more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


@contextmanager
def data_parallel(device: torch.device) -> Iterator[tuple[DataParallel, torch.device]]:
    """Join the job ``torchrun`` started, if any, for the block.

    Yields this process's :class:`DataParallel` and its device: ``device`` itself on the CPU or
    for a single process, GPU ``LOCAL_RANK`` when ``device`` is CUDA under torchrun. The
    process group (gloo on the CPU, nccl on CUDA) waits :func:`timeout_seconds` for a peer and
    is destroyed when the block ends; a block that ends normally ends with a barrier, so that
    no process tears its side of the group down while another still holds it (work for rank 0
    alone, such as the evaluation, belongs after the block).
    """
    if not launched_by_torchrun():
        yield SINGLE, device
        return
    timeout = timedelta(seconds=timeout_seconds())
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", timeout=timeout, device_id=device)
        control = dist.new_group(backend="gloo", timeout=timeout)
    else:
        dist.init_process_group("gloo", timeout=timeout)
        control = None
    parallel = DataParallel(rank, world, control)
    try:
        yield parallel, device
        parallel.barrier()  # the processes leave the group together
    finally:
        dist.destroy_process_group()
