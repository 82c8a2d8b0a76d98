"""gk.pid: the BROJA decomposition on the canonical cases, two solvers, features with a known answer."""

import numpy as np
import pytest

import grounding_kit as gk
from grounding_kit.analysis.partial_information import discretize, joint_table, pid_features
from grounding_kit.world.pid_tasks import PID_TASKS, pid_joint

XOR = ([0, 0, 1, 1], [0, 1, 0, 1], [0, 1, 1, 0])
AND = ([0, 0, 1, 1], [0, 1, 0, 1], [0, 0, 0, 1])
COPY = ([0, 1], [0, 1], [0, 1])
UNIQUE = ([0, 0, 1, 1], [0, 1, 0, 1], [0, 0, 1, 1])  # y = x1, x2 independent noise
AND_REDUNDANCY = 1.5 - 0.75 * np.log2(3)  # I(X1; Y) of AND = 0.311 bits


def parts(result):
    return [result.redundancy, result.unique_1, result.unique_2, result.synergy]


@pytest.mark.parametrize("method", ["cvxpy", "dit"])
@pytest.mark.parametrize("case, expected", [(XOR, [0, 0, 0, 1]), (COPY, [1, 0, 0, 0]), (UNIQUE, [0, 1, 0, 0]),
                                            (AND, [AND_REDUNDANCY, 0, 0, 0.5])])
def test_canonical_cases(case, expected, method):
    result = gk.pid(*case, method=method)
    # dit's optimiser stops at about 1e-3 on XOR (its result varies between runs); cvxpy's conic solver near 1e-7
    np.testing.assert_allclose(parts(result), expected, atol=1e-5 if method == "cvxpy" else 2e-3)
    assert result.total == pytest.approx(sum(parts(result)), abs=1e-5)


def test_a_joint_table_and_samples_agree():
    table = joint_table(*AND)
    np.testing.assert_allclose(table.sum(), 1.0)
    assert parts(gk.pid(table)) == pytest.approx(parts(gk.pid(*AND)), abs=1e-9)


def test_the_two_solvers_agree_on_a_random_table():
    p = np.random.default_rng(0).random((3, 3, 2))
    a, b = gk.pid(p / p.sum()), gk.pid(p / p.sum(), method="dit")
    np.testing.assert_allclose(parts(a), parts(b), atol=2e-3)
    # the three defining equations hold whatever the solver
    assert a.redundancy + a.unique_1 == pytest.approx(a.mi_1, abs=1e-6)
    assert a.redundancy + a.unique_2 == pytest.approx(a.mi_2, abs=1e-6)


@pytest.mark.parametrize("name", PID_TASKS[:4])
def test_each_task_has_one_bit_in_its_part(name):
    expected = {"redundant": [1, 0, 0, 0], "unique_text": [0, 1, 0, 0], "unique_image": [0, 0, 1, 0],
                "synergy": [0, 0, 0, 1]}[name]
    np.testing.assert_allclose(parts(gk.pid(pid_joint(name))), expected, atol=1e-5)


def test_the_dial_moves_redundancy_into_synergy():
    synergy = [gk.pid(pid_joint("pid_mix", synergy=s)).synergy for s in (0.0, 0.25, 0.5, 0.75, 1.0)]
    redundancy = [gk.pid(pid_joint("pid_mix", synergy=s)).redundancy for s in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert synergy[0] == pytest.approx(0, abs=1e-5) and synergy[-1] == pytest.approx(1, abs=1e-5)
    assert np.all(np.diff(synergy) > 0) and np.all(np.diff(redundancy) < 0)


def test_features_with_a_known_answer():
    """Continuous features: the label is the XOR of two Gaussian blobs' ids, one blob per modality."""
    rng = np.random.default_rng(0)
    n = 2000
    a, b = rng.integers(0, 2, n), rng.integers(0, 2, n)
    text = a[:, None] * 4.0 + rng.normal(scale=0.3, size=(n, 5))
    image = b[:, None] * 4.0 + rng.normal(scale=0.3, size=(n, 3))
    result = pid_features(text, image, a ^ b, clusters=2)
    assert result.synergy == pytest.approx(1.0, abs=0.01)
    assert result.redundancy + result.unique_1 + result.unique_2 < 0.01


def test_too_many_clusters_inflate_synergy_on_small_samples():
    """The documented bias: on independent noise, more clusters for few samples invent information."""
    rng = np.random.default_rng(1)
    text, image, y = rng.normal(size=(60, 4)), rng.normal(size=(60, 4)), rng.integers(0, 2, 60)
    few, many = pid_features(text, image, y, clusters=2), pid_features(text, image, y, clusters=10)
    assert many.total > few.total + 0.2
    assert many.synergy > few.synergy


def test_discretize_keeps_few_distinct_values_exactly():
    x = np.repeat(np.eye(3), 5, axis=0)
    assert len(np.unique(discretize(x, 6))) == 3


def test_bad_input():
    with pytest.raises(ValueError, match="method"):
        gk.pid(*XOR, method="home-made")
    with pytest.raises(ValueError, match="inconsistent"):
        gk.pid([0, 1], [0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="sum to 1"):
        gk.pid(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="shape"):
        gk.pid(np.ones((2, 2)) / 4)
    with pytest.raises(TypeError, match="x2 and y"):
        gk.pid([0, 1], [0, 1])
    with pytest.raises(ValueError, match="clusters"):
        pid_features(np.zeros((3, 2)), np.zeros((3, 2)), [0, 1, 0], clusters=5)
