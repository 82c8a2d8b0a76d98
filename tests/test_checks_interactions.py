"""The checks of notebook 07's exercises accept the right answer and refuse wrong ones."""

import numpy as np
import pandas as pd
import pytest

from grounding_kit.exercises.checks import CheckFailed, check_interaction_index, check_table_prediction


def right_index(P):
    n = len(P)
    return P[np.arange(n), np.arange(n)] - P.mean(1) - P.mean(0) + P.mean((0, 1))


def test_interaction_index_check():
    check_interaction_index(right_index)
    with pytest.raises(CheckFailed, match="differs"):
        check_interaction_index(lambda P: right_index(P) + 0.1)
    with pytest.raises(CheckFailed, match="shape|\\(N, C\\)"):
        check_interaction_index(lambda P: right_index(P)[:, 0])


def table():
    rows = []
    for task, part, additive, interactive in (("redundant", "redundancy", 1.0, 1.0), ("synergy", "synergy", 0.5, 1.0)):
        for name in ("redundancy", "unique text", "unique image", "synergy"):
            rows.append({"task": task, "measure": f"PID {name}", "model": "(the data)", "value": float(name == part)})
        rows += [{"task": task, "measure": "accuracy", "model": "additive", "value": additive},
                 {"task": task, "measure": "accuracy", "model": "interactive", "value": interactive}]
    return pd.DataFrame(rows)


def test_table_prediction_check():
    check_table_prediction({"redundant": "redundancy", "synergy": "synergy"}, {"redundant": False, "synergy": True}, table())
    with pytest.raises(CheckFailed, match="largest PID part"):
        check_table_prediction({"redundant": "synergy", "synergy": "synergy"}, {"redundant": False, "synergy": True}, table())
    with pytest.raises(CheckFailed, match="fall"):
        check_table_prediction({"redundant": "redundancy", "synergy": "synergy"}, {"redundant": False, "synergy": False}, table())
    with pytest.raises(CheckFailed, match="one entry per task"):
        check_table_prediction({"redundant": "redundancy"}, {"redundant": False, "synergy": True}, table())
