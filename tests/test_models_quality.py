"""The shipped tiny CLIP's model card holds: its figures recomputed on fresh seeds (no training
stream's, nor the card's own evaluation seeds), with thresholds a little below the card's so
that a regression fails while sampling noise does not."""

from __future__ import annotations

import json

import pytest

from grounding_kit.models import load_clip
from grounding_kit.world.queries import QUERY_KINDS, evaluate_queries
from grounding_kit.models.registry import TINY_CLIP, embedded_path
from grounding_kit.models.training import CLIP_RECIPES, evaluate_clip, write_clip_card
from grounding_kit.core.threads import single_thread

FRESH_SEED = 31_000
# about two standard errors of the difference between two estimates over 100 and 200 queries
TOP1_MARGIN, TOP5_MARGIN = 0.12, 0.1
# the issue's targets (issue 13) on typed queries: (kind, metric, target)
TARGETS = [("single", "top1", 0.95), ("single", "top5", 0.8), ("two", "top5", 0.8),
           ("count", "top1", 0.85), ("left_right", "top1", 0.85)]


@pytest.fixture(scope="module")
def record():
    return json.loads((embedded_path(TINY_CLIP) / "training.json").read_text())


@pytest.fixture(scope="module")
def fresh(record):
    clip = load_clip(TINY_CLIP, device="cpu")
    with single_thread():
        return {"queries": evaluate_queries(clip, n_scenes=1000, n_queries=200, seed=FRESH_SEED),
                "zero_shot": evaluate_clip(clip, n=360, seed=FRESH_SEED)}


def test_the_card_is_rendered_from_the_record_and_names_its_recipe(record, tmp_path):
    shipped = embedded_path(TINY_CLIP)
    card = (shipped / "README.md").read_text()
    version = CLIP_RECIPES[record["recipe"]][0]
    assert record["version"] == version and record["seed"] == 0
    assert f"version: {version}" in card and f"recipe {record['recipe']!r}" in card
    assert "### Typed queries" in card and "| version 1 | version 2 (this one) |" in card  # version 1's beside
    # the card is the record rendered: the same folder's record gives the same card, byte for byte
    for name in ("training.json",):
        (tmp_path / name).write_bytes((shipped / name).read_bytes())
    assert write_clip_card(tmp_path).read_text() == card
    # version 1's figures come from the record, not from code
    v1 = record["previous_versions"][0]
    assert v1["version"] == 1 and f"| match_auc | {v1['match_auc']} | {record['match_auc']} |" in card


@pytest.mark.slow
@pytest.mark.parametrize("kind", QUERY_KINDS)
def test_typed_query_figures_of_the_card_hold_on_fresh_scenes(record, fresh, kind):
    card, now = record["queries"][kind], fresh["queries"][kind]
    assert now["top1"] >= card["top1"] - TOP1_MARGIN, (kind, now, card)
    assert now["top5"] >= card["top5"] - TOP5_MARGIN, (kind, now, card)


@pytest.mark.slow
def test_zero_shot_and_match_figures_of_the_card_hold(record, fresh):
    now = fresh["zero_shot"]
    assert now["caption_accuracy"] >= record["caption_accuracy"] - 0.05, now
    assert now["match_auc"] >= record["match_auc"] - 0.03, now


@pytest.mark.slow
@pytest.mark.parametrize("kind, metric, target", TARGETS)
def test_issue_targets_on_fresh_scenes(fresh, kind, metric, target):
    assert fresh["queries"][kind][metric] >= target, fresh["queries"][kind]


@pytest.mark.slow
def test_version_2_keeps_version_1s_zero_shot_figures_on_fresh_scenes(record, fresh):
    """Issue 13: the 36-caption accuracy and the match AUC stay at version 1's level or better
    (version 1 on its card: 0.9986 and 0.950; on the larger fresh samples of
    benchmarks/query_bench.md: 0.9965 and 0.958)."""
    assert fresh["zero_shot"]["caption_accuracy"] >= 0.99, fresh["zero_shot"]
    assert fresh["zero_shot"]["match_auc"] >= record["previous_versions"][0]["match_auc"], fresh["zero_shot"]
