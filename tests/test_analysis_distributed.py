"""EMAP on a Dask cluster equals the single-process EMAP, survives a killed worker, resumes after a
killed client without recomputing finished blocks, and refuses a checkpoint folder of another run."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from grounding_kit.analysis import emap_model
from grounding_kit.analysis.distributed import emap_distributed, exact_blocks
from grounding_kit.analysis.pairs import PairEvaluator
from grounding_kit.models.features import Features
from grounding_kit.models import fit_head

from conftest import free_port

distributed = pytest.importorskip("distributed")

N_KILL = 48          # questions of the kill/resume runs: 9 blocks of 16 x 16 pairs
BLOCKING = {"batch_size": 64, "block_pairs": 256}
VILT_INPUTS = """
from grounding_kit.models import load_vqa
from grounding_kit.world import make_task
ds = make_task("vqa", n={n}, seed=0, cache=False)
vqa = load_vqa("tiny-shapes-vqa", device="cpu")
model, inputs = vqa.pair_model, vqa.pair_inputs(ds["image"], ds["text"])
"""


# the reference runs on one thread, as each Dask worker does (bit-identical model calls)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def cluster():
    """2 worker processes on 127.0.0.1 with one thread each, dashboard on a free port; stopped after."""
    local = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                     dashboard_address=f"127.0.0.1:{free_port()}", silence_logs=logging.ERROR)
    yield local
    local.close()


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster) as connected:
        connected.run(lambda: __import__("transformers").ViltForQuestionAnswering)  # warm both workers once
        yield connected


@pytest.fixture(scope="module")
def vilt():
    namespace: dict = {}
    exec(VILT_INPUTS.format(n=N_KILL), namespace)
    return namespace["model"], namespace["inputs"]


@pytest.fixture(scope="module")
def vilt_reference(vilt):
    model, inputs = vilt
    return emap_model(model, inputs, batch_size=BLOCKING["batch_size"])


@pytest.fixture(scope="module")
def head_case():
    gen = torch.Generator().manual_seed(0)
    feats = Features(torch.randn(48, 8, generator=gen), torch.randn(48, 8, generator=gen))
    labels = np.random.default_rng(0).integers(0, 3, 48)
    return fit_head("interactive", feats, labels, hidden=32, epochs=20, progress=False), feats


def test_vilt_on_two_workers_equals_the_single_process_emap(client, vilt, capsys):
    model, inputs = vilt
    small = inputs.take(np.arange(40))
    reference = emap_model(model, small, batch_size=64)
    est = emap_model(model, small, client=client, batch_size=64, partners=None, progress=True)
    assert torch.allclose(est.projection, reference.projection, rtol=0, atol=1e-6)
    printed = capsys.readouterr().out
    assert "1,600 forward passes" in printed and "ms per forward pass" in printed
    assert f"Dask dashboard: {client.dashboard_link}" in printed

    sampled = emap_model(model, small, partners=8, seed=3, batch_size=64)
    on_dask = emap_distributed(model, small, client, partners=8, seed=3, batch_size=64, progress=False)
    for name in ("projection", "stderr", "text_marginal", "image_marginal", "grand_mean", "diagonal"):
        assert torch.equal(getattr(on_dask, name), getattr(sampled, name)), name
    assert on_dask.method == "monte carlo (dask)" and on_dask.partners == 8


def test_a_head_on_two_workers_equals_the_single_process_emap(client, head_case):
    head, feats = head_case
    reference = emap_model(head, feats)  # the ReLU closed form: no pair evaluated
    on_dask = emap_distributed(head, feats, client, batch_size=64, block_pairs=128, progress=False)
    assert on_dask.method == "first-layer-linear stream (dask)"
    assert torch.allclose(on_dask.projection, reference.projection, rtol=0, atol=1e-6)
    sampled = emap_model(head, feats, partners=5, seed=11, batch_size=64)
    on_dask = emap_distributed(head, feats, client, partners=5, seed=11, batch_size=64, progress=False)
    assert torch.equal(on_dask.projection, sampled.projection) and torch.equal(on_dask.stderr, sampled.stderr)


def _blocks(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("block-*.pt")}


def _wait_for_blocks(folder: Path, count: int, alive, timeout: float = 240.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        if len(_blocks(folder)) >= count:
            return len(_blocks(folder))
        time.sleep(0.02)
    raise AssertionError(f"the run wrote {len(_blocks(folder))} blocks to {folder}, expected {count} by now")


def _total_blocks(model, inputs) -> int:
    return len(exact_blocks(PairEvaluator(model, inputs, torch.device("cpu"), BLOCKING["batch_size"]),
                            BLOCKING["block_pairs"]))


def test_a_killed_worker_does_not_change_the_result(client, vilt, vilt_reference, tmp_path):
    model, inputs = vilt
    total = _total_blocks(model, inputs)
    out: dict = {}
    run = threading.Thread(target=lambda: out.update(est=emap_distributed(
        model, inputs, client, checkpoint=tmp_path, progress=False, **BLOCKING)))
    run.start()
    done = _wait_for_blocks(tmp_path, 2, run.is_alive)
    victim = next(iter(client.run(os.getpid).values()))
    os.kill(victim, signal.SIGKILL)
    run.join(timeout=300)
    assert done < total, "the run finished before the worker was killed"
    with pytest.raises(ProcessLookupError):
        os.kill(victim, 0)
    assert "est" in out, "the run did not finish after a worker was killed"
    assert torch.allclose(out["est"].projection, vilt_reference.projection, rtol=0, atol=1e-6)
    assert len(_blocks(tmp_path)) == total


def test_a_killed_client_resumes_without_recomputing_done_blocks(client, vilt, vilt_reference, tmp_path):
    model, inputs = vilt
    total = _total_blocks(model, inputs)
    script = VILT_INPUTS.format(n=N_KILL) + textwrap.dedent(f"""
        import torch
        from distributed import Client
        from grounding_kit.analysis.distributed import emap_distributed
        torch.set_num_threads(1)
        with Client({client.scheduler.address!r}) as client:
            emap_distributed(model, inputs, client, checkpoint={str(tmp_path)!r}, progress=False,
                             batch_size={BLOCKING['batch_size']}, block_pairs={BLOCKING['block_pairs']})
        """)
    child = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        _wait_for_blocks(tmp_path, 3, lambda: child.poll() is None)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    before = _blocks(tmp_path)
    assert 3 <= len(before) < total, f"kill the client mid-run: {len(before)} of {total} blocks were done"

    with distributed.get_task_stream(client) as stream:
        resumed = emap_distributed(model, inputs, client, checkpoint=tmp_path, progress=False, **BLOCKING)
    computed = [t for t in stream.data if str(t["key"]).startswith("emap-block-")]
    assert len(computed) == total - len(before)
    assert all(_blocks(tmp_path)[name] == mtime for name, mtime in before.items())  # not rewritten
    assert torch.allclose(resumed.projection, vilt_reference.projection, rtol=0, atol=1e-6)


def test_a_checkpoint_folder_of_another_run_is_refused(head_case, tmp_path):
    head, feats = head_case
    emap_distributed(head, feats, checkpoint=tmp_path, batch_size=64, block_pairs=512, progress=False)
    other_head = fit_head("interactive", feats, np.arange(48) % 3, hidden=32, epochs=5, progress=False)
    with pytest.raises(ValueError, match="another run.*weights_hash"):
        emap_distributed(other_head, feats, checkpoint=tmp_path, batch_size=64, block_pairs=512, progress=False)
    with pytest.raises(ValueError, match="another run.*inputs_hash"):
        emap_distributed(head, feats.take(np.arange(47, -1, -1)), checkpoint=tmp_path, batch_size=64,
                         block_pairs=512, progress=False)
    with pytest.raises(ValueError, match="another run.*partners"):
        emap_distributed(head, feats, checkpoint=tmp_path, partners=4, seed=0, batch_size=64, progress=False)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("a user's file")
    with pytest.raises(ValueError, match="holds other files and no manifest.json"):
        emap_distributed(head, feats, checkpoint=tmp_path / "mine", progress=False)


def test_bad_arguments_are_named(head_case, tmp_path):
    head, feats = head_case
    with pytest.raises(TypeError, match="client must be a dask.distributed.Client"):
        emap_distributed(head, feats, client="tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match="needs a fixed seed"):
        emap_distributed(head, feats, checkpoint=tmp_path, partners=4, seed=None)  # seed=None: fresh randomness
    with pytest.raises(ValueError, match="block_pairs"):
        emap_distributed(head, feats, block_pairs=0)


def test_a_file_is_not_a_checkpoint_folder(head_case, tmp_path):
    head, feats = head_case
    (tmp_path / "run.pt").write_text("not a folder")
    with pytest.raises(ValueError, match="checkpoint must be a folder"):
        emap_distributed(head, feats, checkpoint=tmp_path / "run.pt", progress=False)


def test_gpu_plugin_pins_worker_i_to_gpu_i_mod_count(monkeypatch):
    """The CUDA path's device choice, checked on a CPU machine with a stand-in for two GPUs."""
    from types import SimpleNamespace

    from grounding_kit.analysis import distributed as dist

    chosen: list[str] = []
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    monkeypatch.setattr(dist, "_WORKER_DEVICE", None)
    for name, expected in ((0, "cuda:0"), (3, "cuda:1"), ("tcp-worker", "cuda:0")):
        dist.GpuPlugin().setup(SimpleNamespace(name=name))
        assert dist._WORKER_DEVICE == expected and chosen[-1] == expected
