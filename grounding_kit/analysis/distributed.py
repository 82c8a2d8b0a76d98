"""EMAP past one machine: the streamed EMAP of any pair model on a Dask cluster, resumable.

``emap_distributed(model, feats, client)`` (or ``gk.emap_model(model, feats, client=client)``)
splits the N x N pair grid into blocks of rows x columns. Each Dask task evaluates one block and
returns only its partial row sums, column sums and its share of the diagonal (O(block) memory,
never the grid); the client adds the blocks up in float64 in block order, so the result does not
depend on the number of workers or on the order in which tasks finish, and equals the
single-process ``emap_model`` to rounding (1e-6). With ``partners=K`` (Monte Carlo) the client
draws every item's partners with the single-process generator before any task runs, and each task
evaluates exactly the model calls the single-process path makes: the same seed gives a
bit-identical estimate.

The model and the inputs travel to the workers once (``client.scatter(..., broadcast=True)``);
each worker prepares its evaluator once and keeps it. A worker that dies mid-run is replaced by
the cluster and its blocks rerun elsewhere. With ``checkpoint="folder/"`` every finished block is
written there atomically (a ``.pt`` per block beside a ``manifest.json``); a rerun after the client
was killed loads the finished blocks, computes only the rest, and gives the same result. The
manifest is keyed on the model's weights hash, the inputs' hash and the run's settings: a folder
made for other data, another model or other settings is refused.

Cost, on paper. The exact EMAP of a generic model needs N * N forward passes. The paper's
pipeline (Hessel & Lee, 2020) ran 15 seeds of N=500 with LXMERT: 15 * 500 * 500 = 3.75 M forward
passes per dataset. The kit's tiny ViLT costs 0.5 to 1.7 ms per pair on one core of a shared
2-core machine, depending on its load (measured single-process with ``benchmarks/dask_bench.py``),
so 3.75 M pairs would take between half an hour and two hours of one core. For a base-size
model (ViLT-B/32 has about 87 M parameters, Kim et al., 2021) we assume, as an order of
magnitude and not a measurement here, 1 ms per pair on one GPU in batches of a few hundred
pairs: 3.75 M pairs are then about 1 GPU-hour per dataset, and 1 / k hour on k GPUs (one Dask
worker per GPU).

GPUs. Start one worker per GPU with one thread each (``gpu_cluster()`` does it on one machine; on
SLURM, ``dask_jobqueue.SLURMCluster(processes=1, cores=1, job_extra_directives=["--gres=gpu:1"])``;
on Kubernetes, ``dask_kubernetes`` with one GPU per worker pod) and pass ``client=Client(cluster)``.
Each worker evaluates its blocks on ``cuda:<its GPU>``; raise ``batch_size`` (pairs per model call,
and for a kit VQA model also ``vqa.pair_model.batch_size``) and ``block_pairs`` until a block fills
the device. The same call, unchanged, runs on a laptop's ``LocalCluster``.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import math
import os
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
from tqdm.auto import tqdm

from grounding_kit.core.cache import atomic_write, cache_key
from grounding_kit.core.extras import require
from grounding_kit.core.hashing import weights_hash
from grounding_kit.models.contract import structure_of
from grounding_kit.core.validation import check_positive_int, check_seed, describe, seed_int
from grounding_kit.analysis.pairs import PairEvaluator, check_features, diagonal_overlap, evaluating, resolve_device
from grounding_kit.analysis.estimate import (EmapEstimate, check_partners, finish_estimate, monte_carlo_block_size,
                                             monte_carlo_combine, monte_carlo_draws, partner_stats)

#: Dask's distributed scheduler: an extra, ``pip install 'grounding_kit[dask]'`` (ImportError naming it)
distributed = require("distributed", "dask")

#: default pairs per block of the exact path (rounded to whole tiles of the single-process stream)
BLOCK_PAIRS = 4096
#: pairs timed by the calibration task before a run
CALIBRATION_PAIRS = 64
#: version of the checkpoint folder layout
CHECKPOINT_FORMAT = 2  # 2: weights and inputs hashed by core.hashing.weights_hash
#: device of this worker process, set by ``GpuPlugin`` (None: CUDA when available, else CPU)
_WORKER_DEVICE: str | None = None
#: glibc ``mallopt`` parameter M_MMAP_THRESHOLD, and the value workers use (bytes)
_M_MMAP_THRESHOLD, WORKER_MMAP_THRESHOLD = -3, 64 * 2**20


def _keep_tensors_on_the_heap() -> None:
    """Undo a slowdown of Dask worker processes on glibc (nothing elsewhere).

    Dask's nannies start workers with ``MALLOC_TRIM_THRESHOLD_`` set, which also pins glibc's
    mmap threshold at 128 KiB: every activation tensor is then a fresh ``mmap`` with its page
    faults (the tiny ViLT ran 1.7x slower per pair). A 64 MiB threshold keeps them on the heap.
    """
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return
    try:
        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, WORKER_MMAP_THRESHOLD)
    except (OSError, AttributeError):
        pass


# ---------------------------------------------------------------- what the workers hold

class _Job:
    """The model, the inputs and the evaluation settings, sent to every worker once.

    On a worker the evaluator (features on the device, first-layer projections, ...) is built on
    first use and kept; a lock lets one block at a time use it (its buffers are shared).
    """

    def __init__(self, model: Any, feats: Any, batch_size: int | None, device: str | None) -> None:
        self.model, self.feats, self.batch_size, self.device = model, feats, batch_size, device
        self._evaluator: PairEvaluator | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {key: self.__dict__[key] for key in ("model", "feats", "batch_size", "device")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _evaluator=None, _lock=threading.Lock())

    def run(self, work: Callable[[PairEvaluator], Any]) -> Any:
        """``work(evaluator)`` under ``torch.no_grad()``, one call at a time on this worker."""
        with self._lock, torch.no_grad():
            if self._evaluator is None:
                self._evaluator = self._prepare()
            return work(self._evaluator)

    def _prepare(self) -> PairEvaluator:
        _keep_tensors_on_the_heap()
        device = torch.device(self.device or _WORKER_DEVICE or ("cuda" if torch.cuda.is_available() else "cpu"))
        for module in _modules(self.model):
            module.to(device).eval()
        if callable(getattr(self.model, "eval", None)):
            self.model.eval()
        return PairEvaluator(self.model, self.feats, device, self.batch_size)


def _modules(model: Any) -> list[torch.nn.Module]:
    """The torch modules that hold ``model``'s weights: itself, or its ``.module`` (a kit VQA pair model)."""
    if isinstance(model, torch.nn.Module):
        return [model]
    inner = getattr(model, "module", None)
    return [inner] if isinstance(inner, torch.nn.Module) else []


@dataclass(frozen=True)
class Block:
    """One task's share of the work: pairs ``rows x cols`` (exact), or items and their partners."""

    index: int
    rows: slice
    cols: slice
    partners: dict[str, torch.Tensor] | None = None  # Monte Carlo: {"text": (b, k), "image": (b, k)}

    @property
    def pairs(self) -> int:
        """Forward passes of this block."""
        b, c = self.rows.stop - self.rows.start, self.cols.stop - self.cols.start
        if self.partners is None:
            return b * c
        return sum(p.numel() for p in self.partners.values())


def _exact_block(job: _Job, block: Block) -> dict[str, torch.Tensor]:
    """Row sums (b, C), column sums (c, C) and diagonal (d, C) of one block, in float64."""

    def work(ev: PairEvaluator) -> dict[str, torch.Tensor]:
        tile_rows, tile_cols = ev.tile_shape()
        rows, cols = block.rows, block.cols
        row_sum = torch.zeros(rows.stop - rows.start, ev.classes, dtype=torch.float64)
        col_sum = torch.zeros(cols.stop - cols.start, ev.classes, dtype=torch.float64)
        diagonal = torch.zeros(len(diagonal_overlap(rows, cols)), ev.classes, dtype=torch.float64)
        for r in range(rows.start, rows.stop, tile_rows):
            for c in range(cols.start, cols.stop, tile_cols):
                tr, tc = slice(r, min(r + tile_rows, rows.stop)), slice(c, min(c + tile_cols, cols.stop))
                out = ev.tile(tr, tc)
                row_sum[r - rows.start:tr.stop - rows.start] += out.sum(1, dtype=torch.float64).cpu()
                col_sum[c - cols.start:tc.stop - cols.start] += out.sum(0, dtype=torch.float64).cpu()
                k = torch.from_numpy(diagonal_overlap(tr, tc))
                if len(k):
                    start = max(rows.start, cols.start)
                    diagonal[k - start] = out[k - tr.start, k - tc.start].double().cpu()
        return {"row_sum": row_sum, "col_sum": col_sum, "diagonal": diagonal}

    return job.run(work)


def _monte_carlo_block(job: _Job, block: Block) -> dict[str, torch.Tensor]:
    """Partner means and variances (b, C) of both sides for the block's items, or diagonal pairs."""

    def work(ev: PairEvaluator) -> dict[str, torch.Tensor]:
        items = torch.arange(block.rows.start, block.rows.stop)
        if block.partners is None:  # a chunk of the diagonal, one model call as in the single process
            return {"diagonal": ev.pairs(items, items).to("cpu", torch.float64)}
        out = {}
        for side in ("text", "image"):
            out[f"{side}_mean"], out[f"{side}_var"] = partner_stats(ev, side, items, block.partners[side])
        return out

    return job.run(work)


def _calibrate(job: _Job, pairs: int) -> float:
    """Seconds per pair of this worker: a warm-up call, then ``pairs`` pairs timed."""

    def work(ev: PairEvaluator) -> float:
        index = torch.arange(pairs) % ev.n
        ev.pairs(index[:1], index[:1])
        start = time.perf_counter()
        ev.pairs_batched(index, index.roll(1))
        return (time.perf_counter() - start) / pairs

    return job.run(work)


# ---------------------------------------------------------------- blocks of a run

def exact_blocks(ev: PairEvaluator, block_pairs: int) -> list[Block]:
    """The grid's blocks: squares of whole tiles of ``ev`` holding about ``block_pairs`` pairs."""
    tile_rows, tile_cols = ev.tile_shape()
    per_side = max(1, math.isqrt(max(1, block_pairs // (tile_rows * tile_cols))))
    rows, cols = tile_rows * per_side, tile_cols * per_side
    spans = [(slice(r, min(r + rows, ev.n)), slice(c, min(c + cols, ev.n)))
             for r in range(0, ev.n, rows) for c in range(0, ev.n, cols)]
    return [Block(i, r, c) for i, (r, c) in enumerate(spans)]


def monte_carlo_blocks(ev: PairEvaluator, k: int, seed: Any) -> list[Block]:
    """The single-process Monte Carlo blocks with their partners, then the diagonal's chunks."""
    blocks = [Block(i, slice(int(items[0]), int(items[-1]) + 1), slice(0, 0), partners)
              for i, (items, partners) in enumerate(monte_carlo_draws(ev.n, k, monte_carlo_block_size(ev, k), seed))]
    step = ev.pairs_per_call
    return blocks + [Block(len(blocks) + j, slice(s, min(s + step, ev.n)), slice(0, 0))
                     for j, s in enumerate(range(0, ev.n, step))]


# ---------------------------------------------------------------- identity of a run

def _manifest(model: Any, feats: Any, blocks: list[Block], settings: dict[str, Any]) -> dict[str, Any]:
    return {"format": CHECKPOINT_FORMAT, "model": f"{type(model).__module__}.{type(model).__qualname__}",
            "weights_hash": weights_hash(model), "inputs_hash": weights_hash([feats.text, feats.image]),
            "n": len(feats), "blocks": len(blocks), "torch": torch.__version__, **settings}


class Checkpoint:
    """A folder of finished blocks (``block-000012.pt``) under a ``manifest.json`` naming the run."""

    def __init__(self, folder: str | Path, manifest: dict[str, Any]) -> None:
        self.folder = Path(folder).expanduser()
        self.manifest = manifest
        if self.folder.exists() and not self.folder.is_dir():
            raise ValueError(f"checkpoint must be a folder; {self.folder} is a file")
        path = self.folder / "manifest.json"
        if path.exists():
            found = json.loads(path.read_text())
            wrong = [key for key in sorted(set(found) | set(manifest)) if found.get(key) != manifest.get(key)]
            if wrong:
                details = "; ".join(f"{key}: folder has {found.get(key)!r}, this run {manifest.get(key)!r}"
                                    for key in wrong)
                raise ValueError(f"checkpoint folder {self.folder} was made for another run ({details}). "
                                 "Pass a new folder, or delete this one to start over.")
        elif self.folder.exists() and any(not p.name.startswith(".") for p in self.folder.iterdir()):
            raise ValueError(f"checkpoint folder {self.folder} holds other files and no manifest.json; "
                             "pass an empty or new folder")
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write(path, lambda tmp: tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True)))

    def path(self, index: int) -> Path:
        return self.folder / f"block-{index:06d}.pt"

    def load(self, index: int) -> dict[str, torch.Tensor] | None:
        """The saved result of block ``index``, or None (an unreadable file is reported and redone)."""
        path = self.path(index)
        if not path.exists():
            return None
        try:
            return torch.load(path, weights_only=True)
        except Exception as err:  # noqa: BLE001 - any unreadable block is computed again
            warnings.warn(f"checkpoint block {path} is unreadable ({type(err).__name__}: {err}); recomputing it",
                          RuntimeWarning, stacklevel=2)
            return None

    def save(self, index: int, result: dict[str, torch.Tensor]) -> None:
        atomic_write(self.path(index), lambda tmp: torch.save(result, tmp))


# ---------------------------------------------------------------- the run

def _check_client(client: Any) -> Any:
    if client is None:
        return None
    if not isinstance(client, distributed.Client):
        raise TypeError(f"client must be a dask.distributed.Client (Client(cluster)), got {describe(client)}")
    if client.status != "running":
        raise ValueError(f"client is {client.status!r}; pass a connected dask.distributed.Client")
    return client


def _workers(client: Any) -> int:
    return max(1, len(client.scheduler_info().get("workers", {}))) if client is not None else 1


def dashboard_line(client: Any) -> str:
    """Where the Dask dashboard of ``client``'s scheduler is, or why there is none."""
    if "dashboard" not in client.scheduler_info().get("services", {}):
        return "Dask dashboard: off (start the cluster with a dashboard_address to get one)"
    plots = "" if importlib.util.find_spec("bokeh") else " (its live plots need bokeh>=3.1, not installed here)"
    return f"Dask dashboard: {client.dashboard_link}{plots}"


def _results(client: Any, job: Any, task: Callable, todo: list[Block], run_key: str) -> Iterator[tuple[Block, Any]]:
    """``(block, task(job, block))`` for every block: in this process, or on the cluster as they finish."""
    if client is None:
        for block in todo:
            yield block, task(job, block)
        return
    futures = {client.submit(task, job, block, key=f"emap-block-{run_key}-{block.index}", pure=False): block
               for block in todo}
    for future in distributed.as_completed(futures):
        yield futures[future], future.result()
        future.release()


def emap_distributed(model: Any, feats: Any, client: Any = None, *, checkpoint: str | Path | None = None,
                     partners: int | None = None, seed: Any = 0, batch_size: int | None = None,
                     block_pairs: int = BLOCK_PAIRS, device: Any = None, progress: bool | None = None) -> EmapEstimate:
    """EMAP of ``model`` on ``feats``, block by block on a Dask cluster, resumable.

    Parameters
    ----------
    model : pair model ``f(text_batch, image_batch) -> (B, C) logits`` (see ``grounding_kit.models.contract``);
        picklable, on the CPU (each worker moves it to its device)
    feats : Features of N pairs (e.g. ``vqa.pair_inputs(images, questions)``)
    client : a ``dask.distributed.Client``; None runs the blocks in this process (still resumable)
    checkpoint : folder for finished blocks (created; reused by a rerun of the same run, refused
        if it was made for another model, other inputs or other settings)
    partners : None for the exact EMAP (N * N forward passes); K for Monte Carlo (2 * N * K), with
        the draws of the single-process ``emap_model(..., partners=K, seed=seed)``
    seed : seed of the partner draws (default 0; ``seed=None``, fresh randomness, is refused with
        ``checkpoint`` for Monte Carlo, since a resumed run must draw the same partners)
    batch_size : pairs per model call, as in ``emap_model``
    block_pairs : pairs per block of the exact path, rounded to whole tiles
    device : device of every worker (None: the worker's GPU when it has one, else its CPU)
    progress : print the plan and show a bar over blocks (None: yes)

    Returns
    -------
    EmapEstimate (CPU float64 tensors), as ``emap_model``: the exact path equals the
    single-process stream to rounding, the Monte Carlo path is bit-identical for the same seed
    (given one torch thread per process, as Dask workers have, and a deterministic model).

    Give each worker one thread (``LocalCluster(threads_per_worker=1)``): a worker evaluates
    one block at a time, and parallelism comes from the workers. Every model call of a block
    is the call the single-process stream makes (same tiles, same batches).

    Raises
    ------
    TypeError
        ``feats`` not a ``Features``, ``client`` not a ``dask.distributed.Client``, a bad seed type.
    ValueError
        N < 2, ``partners`` outside [1, N], a closed client, ``seed=None`` with a Monte Carlo checkpoint, a checkpoint folder of another run.
    """
    feats = check_features(feats)
    client = _check_client(client)
    check_positive_int("block_pairs", block_pairs)
    if batch_size is not None:
        check_positive_int("batch_size", batch_size)
    n = len(feats)
    check_partners(partners, n)
    if partners is not None:
        seed = check_seed(seed, allow_none=True)
        if seed is None and checkpoint is not None:
            raise ValueError("a resumable Monte Carlo run needs a fixed seed: pass seed=<int> with checkpoint")
        seed = None if seed is None else seed_int(seed)
    structure_of(model)
    show = progress is None or bool(progress)
    with evaluating(model, torch.device("cpu")):  # the plan: tile shape, classes, partner draws
        plan = PairEvaluator(model, feats, torch.device("cpu"), batch_size)
        blocks = exact_blocks(plan, block_pairs) if partners is None else monte_carlo_blocks(plan, partners, seed)
        classes, pairs_per_call = plan.classes, plan.pairs_per_call
    del plan
    settings = {"partners": partners, "seed": seed if partners is not None else None,
                "pairs_per_call": pairs_per_call, "classes": classes,
                "block_pairs": block_pairs if partners is None else None}
    store = Checkpoint(checkpoint, _manifest(model, feats, blocks, settings)) if checkpoint is not None else None
    results = {b.index: r for b in blocks if store is not None and (r := store.load(b.index)) is not None}
    todo = [b for b in blocks if b.index not in results]
    run_key = cache_key(settings, n, str(checkpoint), time.time_ns())

    here = resolve_device(model, device)  # where this process evaluates when there is no client
    job: Any = _Job(model, feats, batch_size, str(here) if client is None or device is not None else None)
    if client is not None and todo:
        job = client.scatter(job, broadcast=True, hash=False)
    task = _exact_block if partners is None else _monte_carlo_block
    with evaluating(model, here if client is None else torch.device("cpu")):
        if show:
            _print_plan(client, job, blocks, todo, store)
        with tqdm(total=len(blocks), initial=len(blocks) - len(todo), desc="EMAP blocks", disable=not show) as bar:
            for block, result in _results(client, job, task, todo, run_key):
                if store is not None:
                    store.save(block.index, result)
                results[block.index] = result
                bar.update(1)
    ordered = [results[b.index] for b in blocks]  # fixed order: the sums never depend on timing
    where = "dask" if client is not None else "blocks"
    if partners is None:
        return _reduce_exact(blocks, ordered, n, classes, f"{structure_of(model)} stream ({where})")
    return _reduce_monte_carlo(blocks, ordered, n, classes, partners, f"monte carlo ({where})")


def _print_plan(client: Any, job: Any, blocks: list[Block], todo: list[Block], store: Checkpoint | None) -> None:
    """Forward passes, resumed blocks, a calibrated time estimate and the dashboard link."""
    total, left = sum(b.pairs for b in blocks), sum(b.pairs for b in todo)
    workers = _workers(client)
    lines = [f"EMAP: {total:,} forward passes in {len(blocks)} blocks"
             + (f", {len(blocks) - len(todo)} already done in {store.folder}" if store is not None else "")]
    if todo:
        pairs = min(CALIBRATION_PAIRS, left)
        if client is None:
            per_pair = _calibrate(job, pairs)
        else:
            per_pair = client.submit(_calibrate, job, pairs, pure=False).result()
        lines.append(f"calibration: {per_pair * 1e3:.3g} ms per forward pass -> about "
                     f"{left * per_pair / workers:.0f} s for {left:,} passes on {workers} worker(s)")
    if client is not None:
        lines.append(dashboard_line(client))
    print("\n".join(lines), flush=True)


def _reduce_exact(blocks: list[Block], results: list[dict[str, torch.Tensor]], n: int, classes: int,
                  method: str) -> EmapEstimate:
    row_sum = torch.zeros(n, classes, dtype=torch.float64)
    col_sum = torch.zeros(n, classes, dtype=torch.float64)
    diagonal = torch.zeros(n, classes, dtype=torch.float64)
    for block, result in zip(blocks, results):
        row_sum[block.rows] += result["row_sum"]
        col_sum[block.cols] += result["col_sum"]
        k = torch.from_numpy(diagonal_overlap(block.rows, block.cols))
        if len(k):
            diagonal[k] = result["diagonal"]
    rows, cols = row_sum / n, col_sum / n
    return finish_estimate(rows, cols, rows.mean(0), diagonal, torch.zeros_like(rows), n, True, method)


def _reduce_monte_carlo(blocks: list[Block], results: list[dict[str, torch.Tensor]], n: int, classes: int,
                        k: int, method: str) -> EmapEstimate:
    parts = {name: torch.zeros(n, classes, dtype=torch.float64)
             for name in ("text_mean", "text_var", "image_mean", "image_var", "diagonal")}
    for block, result in zip(blocks, results):
        for name, value in result.items():
            parts[name][block.rows] = value
    grand, stderr = monte_carlo_combine(parts["text_mean"], parts["text_var"], parts["image_mean"], parts["image_var"])
    return finish_estimate(parts["text_mean"], parts["image_mean"], grand, parts["diagonal"], stderr, k, k == n, method)


# ---------------------------------------------------------------- GPU workers

class GpuPlugin(distributed.WorkerPlugin):
    """A Dask worker plugin that pins each worker of a one-machine cluster to one GPU.

    Worker ``i`` (LocalCluster names its workers 0, 1, ...) evaluates on ``cuda:i % device_count``.
    """

    name = "grounding-kit-gpu"

    def setup(self, worker: Any) -> None:
        global _WORKER_DEVICE
        count = torch.cuda.device_count()
        if count:
            index = int(worker.name) if str(worker.name).isdigit() else 0
            _WORKER_DEVICE = f"cuda:{index % count}"
            torch.cuda.set_device(_WORKER_DEVICE)


def gpu_cluster(**kwargs: Any) -> Any:
    """A ``LocalCluster`` with one single-threaded worker process per GPU, each pinned to its GPU.

    On a machine without GPUs: two CPU workers. Keyword arguments go to ``LocalCluster``.
    Use ``client = Client(cluster)``; ``client.register_plugin(GpuPlugin())`` happens here.
    """
    count = torch.cuda.device_count()
    options = {"n_workers": count or 2, "threads_per_worker": 1, "processes": True, "host": "127.0.0.1"}
    cluster = distributed.LocalCluster(**{**options, **kwargs})
    if count:
        with distributed.Client(cluster) as client:
            client.register_plugin(GpuPlugin())
    return cluster
