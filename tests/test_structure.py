"""The pair-model contract as typing protocols: every kit model satisfies the one it declares."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from grounding_kit.analysis import GridModel
from grounding_kit.models.heads import HEAD_KINDS, make_head
from grounding_kit.models.contract import (BILINEAR, FIRST_LAYER_LINEAR, GENERIC, BilinearModel, FirstLayerLinearModel,
                                          PairModel, ReluReadoutModel, structure_of)

PROTOCOL_OF = {BILINEAR: BilinearModel, FIRST_LAYER_LINEAR: FirstLayerLinearModel}


@pytest.mark.parametrize("kind", HEAD_KINDS)
def test_each_head_satisfies_the_protocol_of_its_declared_structure(kind):
    head = make_head(kind)
    assert structure_of(head) == head.structure  # what the engine dispatches on is what the head declares
    if head.structure in PROTOCOL_OF:
        assert isinstance(head, PROTOCOL_OF[head.structure])
    assert isinstance(head, ReluReadoutModel) == (kind == "interactive")


def test_grids_and_plain_callables_are_generic_pair_models():
    assert structure_of(GridModel(torch.zeros(2, 2, 1))) == GENERIC
    assert structure_of(lambda t, v: t) == GENERIC
    assert not isinstance(lambda t, v: t, BilinearModel)
    assert not isinstance(torch.nn.Linear(2, 2), FirstLayerLinearModel)  # a module without the methods
    assert not isinstance("not a model", PairModel)


def test_importing_the_contract_does_not_import_torch():
    code = "import sys, grounding_kit.models.contract; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
