"""The widgets on the real tiny models, without a browser: build, call the callbacks, read the figures."""

from __future__ import annotations

import numpy as np
import pytest

import grounding_kit as gk
from grounding_kit import widgets as gkw
from grounding_kit.models.registry import TINY_VQA, embedded_path
from grounding_kit.experiments.protocol import task_experiment

N = 120


@pytest.fixture(scope="module")
def clip():
    return gk.load_clip()


@pytest.fixture(scope="module")
def mixed(clip):
    """The mixed task (interaction 0.5): evaluation features, labels and the two fitted heads."""
    return task_experiment(clip, "mixed", N, n_train=300, seed=0, interaction=0.5)


@pytest.fixture(scope="module")
def match_pairs():
    ds = gk.make_task("match", n=40, seed=3).filter(lambda row: row["label"] == 1)
    return list(ds["image"][:16]), list(ds["scene"][:16])


@pytest.fixture(scope="module")
def vqa():
    if not (embedded_path(TINY_VQA) / "config.json").exists():
        pytest.skip("the embedded tiny VQA model is not built yet (grounding-kit train tiny-vqa)")
    return gk.load_vqa()


@pytest.fixture
def lab(mixed):
    return gkw.reshuffle_lab(mixed.head("interactive"), mixed.feats_eval, mixed.labels_eval,
                             additive=mixed.head("additive"), images=mixed.eval_ds["image"],
                             texts=mixed.eval_ds["text"], seed=0)


# ---------------------------------------------------------------- reshuffle lab


def test_reshuffle_lab_predictions_on_intact_pairs_are_the_models_and_emap(lab, mixed):
    head, feats = mixed.head("interactive"), mixed.feats_eval
    preds = lab.experiment.predictions()
    np.testing.assert_allclose(preds["interactive"], head(feats.text, feats.image).detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(preds["EMAP"], gk.emap_model(head, feats).projection.numpy(), atol=1e-5)
    assert "running average" not in preds  # nothing averaged yet
    assert lab.fig_acc.data[0].y[-1] is None  # no bar yet (None is valid JSON, NaN is not)


def test_reshuffle_lab_fraction_breaks_pairs_like_the_library_reshuffle(lab, mixed):
    before = list(lab.fig_acc.data[0].y)
    lab.set_fraction(0.5)
    assert lab.fraction.value == 0.5
    moved = lab.experiment.perm != np.arange(N)
    assert moved.sum() == N // 2
    expected = gk.reshuffle(mixed.head("interactive"), mixed.feats_eval, 0.5, seed=lab.experiment.perm_seed)
    np.testing.assert_allclose(lab.experiment.predictions()["interactive"], expected.numpy(), atol=1e-5)
    assert list(lab.fig_acc.data[0].y) != before
    assert f"{N // 2} of {N} pairs reshuffled" in lab.status.value
    for i, card in enumerate(lab.cards):  # reshuffled captions are highlighted
        assert ("#c0392b" in card.caption.value) == bool(moved[i])


def test_reshuffle_lab_running_average_converges_to_emap(lab):
    lab.reshuffle()
    assert lab.experiment.k == 1 and len(lab.fig_conv.data[2].x) == 1
    first_gap = lab.experiment.gaps[0][1]
    lab.reshuffle(299)
    assert lab.experiment.k == 300 and [k for k, _ in lab.experiment.gaps] == [1, 300]
    assert lab.experiment.gaps[-1][1] < 0.25 * first_gap  # Monte Carlo error shrinks like 1 / sqrt(k)
    np.testing.assert_allclose(lab.experiment.running_emap(), lab.experiment.emap, atol=0.5)
    assert not np.isnan(lab.fig_conv.data[1].y).any()
    lab.reset()
    assert lab.experiment.k == 0 and lab.experiment.gaps == [] and lab.fig_acc.data[0].y[-1] is None


def test_a_callback_publishes_the_figures_for_views_opened_later():
    """A view that connects after the callbacks ran (a Voila page: the notebook runs first) starts
    from the figures' synced state, so each callback publishes it: here after 5 reshuffles."""
    grid = np.random.default_rng(0).normal(size=(30, 30, 3))
    lab = gkw.reshuffle_lab(grid, None, np.arange(30) % 3, seed=0)
    synced = lambda fig: fig.get_state()["_widget_data"]  # noqa: E731 - what a new view is sent
    assert synced(lab.fig_acc)[0]["y"][-1] is None  # built: no running average yet
    lab.reshuffle(times=5)
    lab.set_fraction(0.5)
    assert synced(lab.fig_acc)[0]["y"] == list(lab.fig_acc.data[0].y) and synced(lab.fig_acc)[0]["y"][-1] is not None
    np.testing.assert_array_equal(synced(lab.fig_conv)[1]["y"]["buffer"], np.asarray(lab.fig_conv.data[1].y))
    assert synced(lab.fig_conv)[2]["x"] == [5]


def test_reshuffle_lab_rejects_misaligned_inputs(mixed):
    with pytest.raises(ValueError, match="one per pair"):
        gkw.reshuffle_lab(mixed.head("interactive"), mixed.feats_eval, mixed.labels_eval,
                          images=mixed.eval_ds["image"][:6], texts=mixed.eval_ds["text"][:6])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        gkw.reshuffle_lab(mixed.head("interactive"), mixed.feats_eval, mixed.labels_eval[:10])


# ---------------------------------------------------------------- EMAP lab


@pytest.mark.slow
def test_emap_lab_shows_the_emap_report_and_responds_to_every_control(clip, mixed):
    lab = gkw.emap_lab(clip, tasks=("additive", "mixed"), n=N, n_train=300, task="mixed", seed=0)
    grid = mixed.grid("interactive").grid.numpy()
    report = gk.emap_report(mixed.labels_eval, grid, n_boot=200, seed=0)
    assert list(lab.fig_acc.data[0].x) == list(report.table.index)
    np.testing.assert_allclose(lab.fig_acc.data[0].y, report.table["score"].to_numpy())
    assert f"model - EMAP: {report.difference:+.3f}" in lab.table.value
    heat = np.array(lab.fig_heat.data[2].z)
    lab.configure(n=60)
    assert "N=60" in lab.status.value and not np.array_equal(np.array(lab.fig_heat.data[2].z), heat)
    lab.configure(method="Monte Carlo", partners=8)
    assert "monte carlo" in lab.table.value and lab.partners.layout.visibility == "visible"
    assert "95% interval of model - EMAP" in lab.table.value  # the verdict reads the interval
    lab.configure(kind="additive", method="exact")
    assert "additive head" in lab.status.value
    lab.configure(task="additive")
    assert lab.interaction.layout.visibility == "hidden" and "additive task" in lab.status.value


# ---------------------------------------------------------------- CLIP widgets


def test_similarity_widget_reshuffling_moves_the_diagonal(clip, match_pairs):
    images, texts = match_pairs
    widget = gkw.similarity_widget(clip, images, texts, seed=0)
    sim = clip.similarity(texts, images).numpy()
    np.testing.assert_allclose(np.array(widget.fig.data[0].z), sim, rtol=1e-5, atol=1e-5)
    aligned = widget.top1()
    widget.set_fraction(1.0)
    assert not np.allclose(np.array(widget.fig.data[0].z), sim)
    assert widget.top1() < aligned
    assert "16 of 16" in widget.status.value


def test_retrieval_widget_ranks_like_clip_similarity(clip, match_pairs):
    images, texts = match_pairs
    widget = gkw.retrieval_widget(clip, images, texts, top_k=3)
    query = "a red circle"
    top = widget.search(query)
    expected = np.argsort(-clip.similarity([query], images).numpy()[0], kind="stable")[:3]
    assert top.tolist() == expected.tolist()
    assert list(widget.fig_images.data[0].x) == [f"#{j}" for j in expected]
    top_captions = widget.pick(5)
    expected = np.argsort(-clip.similarity(texts, [images[5]]).numpy()[:, 0], kind="stable")[:3]
    assert top_captions.tolist() == expected.tolist() and widget.picker.value == 5
    assert list(widget.fig_texts.data[0].y) == [texts[i] for i in expected]
    widget.image_cards[1].button.click()  # "pick" under the second-ranked image
    assert widget.picker.value == int(widget.ranked[1])


def test_grounding_explorer_answers_questions_about_the_picked_image(clip, vqa, match_pairs):
    images, texts = match_pairs
    widget = gkw.grounding_explorer(clip, images, texts, vqa, question="how many objects are there?")
    answers = widget.ask("how many objects are there?")
    assert answers == [(a, round(p, 4)) for a, p in vqa.answer([images[0]], ["how many objects are there?"],
                                                                 top_k=len(answers))[0]]
    widget.pick(3)
    assert list(widget.fig_answers.data[0].x) == [a for a, _ in vqa.answer([images[3]], [widget.question.value],
                                                                            top_k=len(answers))[0]]


def test_grounding_explorer_ranks_a_typed_single_object_query_and_names_unknown_words(clip, vqa):
    from grounding_kit.world.queries import EXAMPLE_QUERIES, example_queries, sample_gallery
    from grounding_kit.world import describe, render_scene

    scenes = sample_gallery(60, seed=4321)  # fresh scenes, no training stream's
    widget = gkw.grounding_explorer(clip, [render_scene(s) for s in scenes], [describe(s) for s in scenes], vqa)
    assert "knows only the shapes world: 3 shapes" in widget.note.value
    assert [b.description for b in widget.example_buttons] == list(EXAMPLE_QUERIES)
    query = example_queries()[1]  # "a blue object", typed as a lecturer would
    top = widget.search(query.text)
    assert query.holds(scenes[top[0]]) and widget.message.value == ""
    widget.example_buttons[1].click()  # an example button types its query
    assert widget.query.value == query.text
    widget.search("a red banana")
    assert widget.message.value.startswith("unknown word &#x27;banana&#x27;:")


@pytest.mark.slow
def test_rebalancing_lab_swaps_precomputed_results(vqa):
    lab = gkw.rebalancing_lab(vqa, priors=(0.0, 0.9), n=60, seed=0)
    lab.show(prior=0.9, balanced=False)
    skewed = lab.results[(0.9, False)]
    assert list(lab.fig_acc.data[0].y)[-1] == pytest.approx(skewed.blind["all"])
    lab.show(balanced=True)
    assert lab.balanced.value == "rebalanced"
    assert list(lab.fig_acc.data[0].y)[-1] == pytest.approx(lab.results[(0.9, True)].blind["all"])
    for trace, t in zip(lab.fig_hist.data, lab.types):  # every question type is asked, so each histogram sums to 1
        assert sum(trace.y) == pytest.approx(1.0), t


@pytest.mark.slow
def test_interaction_dial_moves_its_marker(clip):
    dial = gkw.interaction_dial(clip, levels=(0.0, 1.0), n=100, n_train=300, seed=0)
    assert all(len(scores) == 2 for scores in dial.scores.values())
    at = dial.set_level(1.0)
    assert list(dial.fig.data[-1].x) == [1.0, 1.0] and list(dial.fig.data[-1].y) == list(at.values())
    assert dial.dial.value == 1.0 and "interaction 1.00" in dial.status.value


@pytest.mark.slow
def test_the_interaction_curve_is_computed_without_a_view(clip):
    from grounding_kit.experiments.dial import interaction_curve

    curve = interaction_curve(clip, levels=(0.0, 1.0), n=100, n_train=300, seed=0)
    # additive task: the additive rule is the best possible; match task: no additive rule beats chance,
    # and neither does the additive head (300 training pairs: the interactive head is not there yet either)
    assert curve.additive_rule[0] == pytest.approx(curve.bayes[0]) and curve.bayes[1] == 1.0
    assert curve.additive_rule[1] == pytest.approx(0.5) and curve.at(1.0)["additive"] < 0.6
    assert curve.at(0.0)["additive"] > 0.75 and curve.at(1.0) == {k: v[1] for k, v in curve.scores.items()}
    with pytest.raises(ValueError, match="level must be one of"):
        curve.at(0.5)


# ---------------------------------------------------------------- dashboard


def test_dashboard_command_and_notebook():
    import nbformat

    from grounding_kit.dashboard import notebook_path, voila_command

    command = voila_command(8866, "0.0.0.0")
    assert str(notebook_path()) in command and "--port=8866" in command and "--Voila.ip=0.0.0.0" in command
    with pytest.raises(ValueError, match="port"):
        voila_command(0)
    nb = nbformat.read(notebook_path(), as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")


@pytest.mark.slow
def test_dashboard_builds_tabs_on_first_view(clip):
    from grounding_kit.dashboard import build_dashboard

    dash = build_dashboard(n=60, clip=clip)
    assert isinstance(dash.labs[0], gkw.ReshuffleLab) and dash.labs[1:] == [None, None, None]
    dash.tabs.selected_index = 1
    assert isinstance(dash.labs[1], gkw.EmapLab) and dash.slots[1].children == (dash.labs[1],)


def test_the_reshuffle_experiment_runs_without_a_view():
    """The lab's state and steps live in the library object; the widget only binds them."""
    from grounding_kit.experiments.reshuffle import ReshuffleExperiment

    rng = np.random.default_rng(0)
    grid = rng.normal(size=(40, 40, 3))
    exp = ReshuffleExperiment(grid, None, rng.integers(0, 3, 40), seed=0)
    assert exp.running_emap() is None and exp.accuracies()["running average"] is None
    exp.set_fraction(0.25)
    assert exp.reshuffled().sum() == 10
    exp.reshuffle(200)
    assert exp.k == 200 and exp.gaps[-1][0] == 200
    np.testing.assert_allclose(exp.running_emap(), exp.emap, atol=0.4)
    exact, running = exp.margins(5)
    assert exact.shape == running.shape == (5,)
    again = ReshuffleExperiment(grid, None, exp.labels, seed=0)
    again.set_fraction(0.25)
    again.reshuffle(200)
    np.testing.assert_array_equal(again.running_emap(), exp.running_emap())  # seed=0 by default: reproducible
    exp.reset()
    assert exp.k == 0 and exp.gaps == [] and exp.running_emap() is None
    with pytest.raises(ValueError, match="fraction"):
        exp.set_fraction(1.5)
