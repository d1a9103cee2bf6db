"""datadao.optimize on optuna: known answers, reproducibility, criteria and misuse."""

import pytest

import datadao

optuna = pytest.importorskip("optuna")

STEPS = 40


def test_a_monotone_objective_finds_its_bound():
    # The Pie keeps less the more it pays out: its minimum is at the upper bound.
    result = datadao.optimize(
        space={"pie.distribution_rate": (0.05, 0.7)},
        minimize="final_pie_mean",
        trials=25,
        runs=1,
        steps=STEPS,
        seed=1,
    )
    assert result.best_params["pie.distribution_rate"] > 0.6
    assert len(result.trials) == 25
    assert result.best_value == result.trials["objective"].min()
    assert result.study.best_value == result.best_value


def test_an_interior_optimum_from_two_criteria():
    # Only a middle band of payout rates keeps the Pie between the two thresholds.
    probe = datadao.sweep(
        grid={"pie.distribution_rate": [0.2, 0.4]}, runs=1, steps=STEPS
    ).points["final_pie_mean"]
    hi, lo = float(probe.iloc[0]), float(probe.iloc[1])
    result = datadao.optimize(
        space={"pie.distribution_rate": (0.05, 0.7)},
        maximize="all_pass_rate",
        criteria=[f"low: final_pie >= {lo}", {"name": "high", "metric": "final_pie", "op": "<=", "threshold": hi}],
        trials=30,
        runs=1,
        steps=STEPS,
        seed=2,
    )
    assert result.best_value == 1.0
    assert 0.2 <= result.best_params["pie.distribution_rate"] <= 0.4
    assert {"low_pass_rate", "high_pass_rate", "all_pass_rate"} <= set(result.trials.columns)


def test_a_fixed_seed_repeats():
    def once():
        return datadao.optimize(
            space={"market.fee_rate": (0.001, 0.03), "pie.distribution_rate": [0.1, 0.3, 0.5]},
            maximize="final_price_p50",
            trials=8,
            runs=2,
            steps=STEPS,
            preset="scarce-data",
            seed=5,
        ).trials

    a, b = once(), once()
    assert a.equals(b)


def test_misuse_is_refused():
    with pytest.raises(datadao.ConfigError):
        datadao.optimize(space={"pie.distribution_rate": (0.1, 0.5)}, trials=1)
    with pytest.raises(datadao.ConfigError):
        datadao.optimize(space={"pie.distribution_rate": (0.5, 0.1)}, maximize="final_pie_mean", trials=1)
    with pytest.raises(datadao.ConfigError, match="final_prize"):
        datadao.optimize(
            space={"pie.distribution_rate": (0.1, 0.5)},
            maximize="all_pass_rate",
            criteria=["x: final_prize >= 1"],
            trials=1,
            steps=5,
        )
    with pytest.raises(datadao.ConfigError):
        datadao.sweep(grid={}, criteria="x: final_price >= 1", steps=5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"trials": 0},
        {"trials": True},
        {"trials": "10"},
        {"n_jobs": 0},
        {"seed": -1},
        {"sampler": "bayes"},
        {"runs": 0},
        {"space": {"pie.distribution_rate": "x..y"}},
        {"space": {"no.such": (0, 1)}},
        {"space": []},
    ],
)
def test_bad_arguments_are_config_errors(kwargs):
    args = dict(space={"pie.distribution_rate": (0.1, 0.5)}, maximize="final_pie_mean", trials=1, steps=5)
    args.update(kwargs)
    with pytest.raises(datadao.ConfigError):
        datadao.optimize(**args)
