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
    # dit's solver stops within about 1e-3 of the optimum on XOR; cvxpy's conic solver near 1e-7
    np.testing.assert_allclose(parts(result), expected, atol=1e-5 if method == "cvxpy" else 2e-3)


def test_dit_keeps_the_best_of_its_starts():
    """dit's solver from one random start can stop short on XOR (seen in CI: synergy 0.687 instead of
    1); from several starts the kit keeps the largest synergy, the optimum's."""
    from grounding_kit.analysis.partial_information import DIT_SEEDS, _pid_dit

    xor = joint_table(*XOR)
    runs = [_pid_dit(xor, seeds=(seed,))[3] for seed in (63, 199, *DIT_SEEDS)]
    assert _pid_dit(xor, seeds=(63, 199, *DIT_SEEDS))[3] == max(runs) == pytest.approx(1, abs=2e-3)
    assert _pid_dit(xor) == _pid_dit(xor)  # fixed starts: the same answer every time


RANDOM_TABLES = [np.random.default_rng(seed).random(shape) for seed, shape in ((0, (3, 3, 2)), (1, (2, 4, 3)))]


def assert_defining_equations(r):
    """R + U1 = I(X1; Y), R + U2 = I(X2; Y), R + U1 + U2 + S = I(X1, X2; Y), within dit's tolerance."""
    assert r.redundancy + r.unique_1 == pytest.approx(r.mi_1, abs=2e-3)
    assert r.redundancy + r.unique_2 == pytest.approx(r.mi_2, abs=2e-3)
    assert sum(parts(r)) == pytest.approx(r.total, abs=2e-3)


@pytest.mark.parametrize("case", [XOR, AND, COPY, UNIQUE], ids=["xor", "and", "copy", "unique"])
def test_dit_parts_satisfy_the_defining_equations(case):
    """dit returns the four parts from its own lattice and the mutual informations are computed here, so
    the defining equations can fail (with cvxpy the parts are derived from these equations and hold by
    construction; its checks are the canonical values and the optimum's feasibility below)."""
    assert_defining_equations(gk.pid(*case, method="dit"))


@pytest.mark.parametrize("table", RANDOM_TABLES, ids=["3x3x2", "2x4x3"])
def test_the_cvxpy_optimum_is_feasible_and_minimal(table):
    """q* keeps both pairwise marginals (it lies in Delta_p) and carries no more I(X1, X2; Y) than two other
    points of Delta_p: p itself and the conditionally independent q(x1, x2, y) = p(x1, y) p(x2, y) / p(y)."""
    from grounding_kit.analysis.partial_information import _optimal_q_cvxpy, mutual_information

    p = table / table.sum()
    q = _optimal_q_cvxpy(p)
    np.testing.assert_allclose(q.sum(1), p.sum(1), atol=1e-6)
    np.testing.assert_allclose(q.sum(0), p.sum(0), atol=1e-6)
    independent = p.sum(1)[:, None, :] * p.sum(0)[None, :, :] / p.sum((0, 1))
    optimum = mutual_information(q)[2]
    assert optimum <= mutual_information(p)[2] + 1e-6
    assert optimum <= mutual_information(independent)[2] + 1e-6
    assert min(parts(gk.pid(p))) >= 0


def test_a_joint_table_and_samples_agree():
    table = joint_table(*AND)
    np.testing.assert_allclose(table.sum(), 1.0)
    assert parts(gk.pid(table)) == pytest.approx(parts(gk.pid(*AND)), abs=1e-9)


def test_the_two_solvers_agree_on_a_random_table():
    p = np.random.default_rng(0).random((3, 3, 2))
    a, b = gk.pid(p / p.sum()), gk.pid(p / p.sum(), method="dit")
    np.testing.assert_allclose(parts(a), parts(b), atol=2e-3)
    assert_defining_equations(b)  # dit on a table that is none of the canonical cases


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
