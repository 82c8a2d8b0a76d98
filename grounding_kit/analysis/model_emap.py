"""The one public call for the EMAP of a model: :func:`emap_model`.

It dispatches to this process (:func:`grounding_kit.analysis.streaming.emap_in_process`: closed
forms, the exact stream, Monte Carlo) or, with a Dask ``client=`` or a ``checkpoint=`` folder, to
the block-wise resumable path (:func:`grounding_kit.analysis.distributed.emap_distributed`).
Both return the same :class:`~grounding_kit.analysis.estimate.EmapEstimate`.
"""

from __future__ import annotations

from typing import Any

from grounding_kit.models.contract import PairModel
from grounding_kit.models.features import Features
from grounding_kit.analysis.estimate import EmapEstimate
from grounding_kit.analysis.multimodal import emap_multimodal
from grounding_kit.analysis.streaming import emap_in_process


def emap_model(model: PairModel, feats: Features | Any, partners: int | None = None, seed: int | None = 0,
               batch_size: int | None = None, device: Any = None, progress: bool | None = None, *,
               client: Any = None, checkpoint: Any = None, max_seconds: float | None = None) -> EmapEstimate:
    """EMAP of ``model`` on ``feats`` with its marginals, without materializing the N x N grid.

    ``emap_model(model, feats)`` equals ``emap(pairwise_logits(model, feats))`` (to rounding), and
    the estimate it returns behaves as that (N, C) projection: ``np.asarray(est)`` and
    ``torch.as_tensor(est)`` give ``est.projection``.

    Parameters
    ----------
    model : pair model ``f(text_batch, image_batch) -> (B, C) logits`` (see ``grounding_kit.models.contract``),
        or a ``GridModel`` (its means are read from the grid)
    feats : Features of N pairs; for a model of M inputs, a list or tuple of M arrays (N, D_m), one
        per modality: the result is then
        :func:`~grounding_kit.analysis.multimodal.emap_multimodal`'s ``MultiEmapEstimate`` (float64
        numpy), exact or with ``partners=K`` Monte Carlo (``client``, ``checkpoint``, ``device`` and
        ``max_seconds`` are for pair models only)
    partners : None for the exact projection; K in [1, N] for Monte Carlo over K random
        partners per item (2 * N * K pair evaluations; exact, with zero stderr, at K = N)
    seed : seed of the partner draws (default 0: the same estimate on every run); ``seed=None``
        opts in to fresh randomness. Unused by the exact path.
    batch_size : pairs per model call (None: a default per structure)
    device : torch device (None: CUDA when available, else CPU)
    progress : show a progress bar (None: when N * N >= 250,000; with a client: yes)
    client : a ``dask.distributed.Client``: the pairs are evaluated in blocks on the cluster
        (needs ``pip install 'grounding_kit[dask]'``; see :mod:`grounding_kit.analysis.distributed`)
    checkpoint : a folder for finished blocks, so that a killed run resumes (with or without a client)
    max_seconds : refuse, before the work starts, a streamed or Monte Carlo run in this process
        estimated to take longer (``BudgetError`` with the estimate); None: the kit's time budget,
        600 s unless ``GROUNDING_KIT_MAX_SECONDS`` says; ``math.inf`` opts out

    Returns
    -------
    EmapEstimate (CPU float64 tensors): ``.projection`` (N, C) is ``f_hat(t_i, v_i)``, ``.stderr``
    its standard errors (zeros when exact), with the marginals and the diagonal it is built from.

    Raises
    ------
    TypeError
        ``feats`` is not a ``Features``, the model is not callable or returns non-float logits,
        ``seed`` is not an int, or ``client`` is not a Dask client.
    ValueError
        N < 2, ``partners`` outside [1, N], non-finite logits, or a checkpoint folder of another run.
    BudgetError
        The run is estimated to take longer than ``max_seconds``.
    ImportError
        ``client`` or ``checkpoint`` is given and Dask is not installed (names the extra to install).

    Notes
    -----
    On a busy shared CPU, the streamed paths' many small steps run much faster with
    ``torch.set_num_threads(1)`` or with ``OMP_WAIT_POLICY=PASSIVE`` set before torch is imported.
    """
    if isinstance(feats, (list, tuple)):
        if client is not None or checkpoint is not None:
            raise ValueError("client and checkpoint are for pair models (feats a Features); an M-modality "
                             "model's feats (a list of M arrays) run in this process")
        return emap_multimodal(model, feats, partners=partners, seed=seed, batch_size=batch_size, progress=progress)
    if client is not None or checkpoint is not None:
        from grounding_kit.analysis.distributed import emap_distributed  # needs the [dask] extra

        return emap_distributed(model, feats, client, checkpoint=checkpoint, partners=partners, seed=seed,
                                batch_size=batch_size, device=device, progress=progress)
    return emap_in_process(model, feats, partners=partners, seed=seed, batch_size=batch_size, device=device,
                           progress=progress, max_seconds=max_seconds)
