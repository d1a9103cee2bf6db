"""The Python API: every public function, its errors, and equality with the CLI."""

import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import datadao
from conftest import run_cli


def test_presets_lists_every_scenario():
    names = datadao.presets()
    assert names[0] == "seed"
    assert {"privacy", "scarce-data", "original-2024"} <= set(names)


def test_config_layers_defaults_preset_and_settings():
    base = datadao.config()
    assert base["market.fee_rate"] == 0.003
    assert base["simulation.total_steps"] == 2000
    assert "preset" not in base
    privacy = datadao.config(preset="privacy")
    assert privacy["preset"] == "privacy"
    assert privacy["pie.policy"] == "usage"
    mine = datadao.config(preset="privacy", settings={"pie.policy": "weight", "market.fee_rate": 0})
    assert mine["pie.policy"] == "weight"
    assert mine["market.fee_rate"] == 0.0
    assert mine["output.dir"] == "."


def test_the_environment_is_not_read(monkeypatch):
    monkeypatch.setenv("FEE_RATE", "0.5")
    monkeypatch.setenv("DATADAO_SIMULATION__TOTAL_STEPS", "7")
    c = datadao.config()
    assert c["market.fee_rate"] == 0.003
    assert c["simulation.total_steps"] == 2000


@pytest.mark.parametrize(
    "settings, parts",
    [
        ({"market.fee_rate": 2}, ["market.fee_rate", "'2'", 'settings["market.fee_rate"]', "[0, 1)"]),
        ({"market.fee_rte": 0.1}, ["market.fee_rte", "did you mean 'market.fee_rate'"]),
        ({"simulation.total_steps": 0}, ["simulation.total_steps", "at least 1"]),
        ({"simulation.total_steps": "ten"}, ["simulation.total_steps", "'ten'"]),
        ({"simulation.total_steps": 2**70}, ["simulation.total_steps"]),
        ({"market.fee_rate": None}, ["market.fee_rate", "None"]),
        ({"agents.degen.initial_xdai": float("nan")}, ["agents.degen.initial_xdai"]),
        ({"data.use_cases": []}, ["data.use_cases"]),
    ],
)
def test_bad_settings_raise_config_error_with_the_cli_message(settings, parts):
    with pytest.raises(datadao.ConfigError) as e:
        datadao.config(settings=settings)
    assert isinstance(e.value, ValueError)
    for p in parts:
        assert p in str(e.value), str(e.value)


def test_bad_arguments_raise_config_error():
    with pytest.raises(datadao.ConfigError, match="nope"):
        datadao.run(preset="nope")
    with pytest.raises(datadao.ConfigError, match="steps"):
        datadao.run(steps=0)
    with pytest.raises(datadao.ConfigError, match="runs=0"):
        datadao.sweep({"market.fee_rate": [0.1]}, runs=0)
    with pytest.raises(datadao.ConfigError, match="cannot vary"):
        datadao.sweep({"output.dir": ["a", "b"]})
    with pytest.raises(datadao.ConfigError, match="at most 100000"):
        datadao.sweep({"market.fee_rate": "0..0.5:1e-300"})


@pytest.mark.parametrize("kwargs", [{"steps": -1}, {"steps": "ten"}, {"steps": 2**64}, {"seed": -5}, {"steps": 1.5}])
def test_bad_explicit_arguments_are_config_errors(kwargs):
    with pytest.raises(datadao.ConfigError):
        datadao.run(**kwargs)


def test_sweep_accepts_the_cli_grid_spelling():
    a = datadao.sweep(["market.fee_rate=0.001,0.01", "simulation.entry_steps=2..4:2"], runs=1, steps=20)
    b = datadao.sweep({"market.fee_rate": [0.001, 0.01], "simulation.entry_steps": "2..4:2"}, runs=1, steps=20)
    assert a.runs_csv == b.runs_csv
    with pytest.raises(datadao.ConfigError):
        datadao.sweep({"market.fee_rate": [0.1]}, runs=-1)


def test_explicit_arguments_beat_settings():
    r = datadao.run(settings={"simulation.total_steps": 50, "simulation.seed": 1}, steps=20, seed=3)
    assert len(r.steps) == 20
    assert r.config["simulation.seed"] == 3


def test_run_returns_steps_summary_and_config():
    r = datadao.run(steps=60, audit=True)
    assert list(r.steps["step"]) == list(range(60))
    assert r.steps["step"].dtype == np.int64
    assert r.steps["price"].dtype == np.float64
    assert r.transactions is None
    assert r.summary["steps"] == 60
    assert r.summary["agents"] == int(r.steps["agents_total"].iloc[-1])
    assert r.summary["final_price"] == r.steps["price"].iloc[-1]
    assert r.config["simulation.audit"] is True


def read_cli_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=True)


@pytest.mark.parametrize("preset", ["seed", "privacy", "scarce-data", "original-2024"])
def test_steps_and_transactions_equal_the_cli_cell_for_cell(cli, tmp_path, preset):
    args = ["-q", "--preset", preset, "--steps", "150", "--seed", "7", "--set", "market.fee_rate=0.01"]
    run_cli(cli, tmp_path, *args)
    r = datadao.run(preset=preset, steps=150, seed=7, settings={"market.fee_rate": 0.01}, transactions=True)
    data = read_cli_csv(tmp_path / "simulation_data.csv")
    assert list(r.steps.columns) == list(data.columns)
    pd.testing.assert_frame_equal(r.steps, data, check_exact=True, check_dtype=False)
    # Counts are integers on both sides (a float column of whole numbers may read back
    # from the CSV as integers, which is pandas' guess, not a difference).
    for col in r.steps.columns:
        if r.steps[col].dtype.kind == "i":
            assert data[col].dtype.kind == "i", col
    log = pd.read_csv(tmp_path / "transaction_history.csv", dtype={"detail": str}, keep_default_na=False, na_values={"price": [""]})
    tx = r.transactions
    assert list(tx.columns) == list(log.columns)
    assert len(tx) == len(log)
    for col in ["agent_type", "action", "detail"]:
        assert (tx[col].astype(str).to_numpy() == log[col].astype(str).to_numpy()).all(), col
    for col in ["step", "seq", "agent_id", "ddt", "xdai", "lp", "ddt_balance", "xdai_balance", "price"]:
        np.testing.assert_array_equal(tx[col].to_numpy(), log[col].to_numpy(), err_msg=col)
    # The flow diagram's numbers are the CLI's flows.csv, exactly.
    flows = pd.read_csv(tmp_path / "flows.csv")
    pd.testing.assert_frame_equal(r.flows, flows, check_exact=True)
    # Every agent, exactly agents.csv.
    agents = pd.read_csv(tmp_path / "agents.csv")
    assert list(r.agents.columns) == list(agents.columns)
    assert (r.agents["type"].astype(str).to_numpy() == agents["type"].to_numpy()).all()
    for col in agents.columns:
        if col != "type":
            np.testing.assert_array_equal(r.agents[col].to_numpy(), agents[col].to_numpy(), err_msg=col)


def test_to_polars(tmp_path):
    pl = pytest.importorskip("polars")
    r = datadao.run(steps=30, transactions=True)
    steps, tx = r.to_polars()
    assert isinstance(steps, pl.DataFrame)
    assert steps.shape == r.steps.shape
    assert tx.shape == r.transactions.shape
    assert steps["price"].to_list()[-1] == r.steps["price"].iloc[-1]


def test_sweep_tables_equal_the_cli_sweep(cli, tmp_path):
    run_cli(
        cli, tmp_path, "sweep", "-q", "--preset", "scarce-data",
        "--grid", "market.fee_rate=0.003,0.03", "--grid", "simulation.seed=1..3:1",
        "--runs", "3", "--steps", "40", "--out", "s",
    )
    s = datadao.sweep(
        {"market.fee_rate": [0.003, 0.03], "simulation.seed": "1..3:1"},
        runs=3, preset="scarce-data", steps=40, jobs=2,
    )
    assert s.runs_csv == (tmp_path / "s" / "sweep_runs.csv").read_bytes()
    assert s.series_csv == (tmp_path / "s" / "sweep_series.csv").read_bytes()
    assert s.points_csv == (tmp_path / "s" / "sweep_points.csv").read_bytes()
    assert len(s.points) == 2 * 3 and set(s.points["runs"]) == {3}
    # Each point's KPI figures are numpy's over its runs.
    import numpy as np

    for _, point in s.points.iterrows():
        mine = s.runs[s.runs["point"] == point["point"]]["final_price"].dropna()
        assert point["final_price_n"] == len(mine)
        assert point["final_price_p50"] == pytest.approx(np.percentile(mine, 50), rel=1e-12)
        assert point["final_price_p95"] == pytest.approx(np.percentile(mine, 95), rel=1e-12)
    assert len(s.runs) == 2 * 3 * 3
    assert {"point", "run", "seed", "final_price", "market.fee_rate"} <= set(s.runs.columns)
    assert "price_p50" in s.series.columns


def test_a_local_executor_gives_the_local_tables():
    from concurrent.futures import ThreadPoolExecutor

    grid = {"market.fee_rate": [0.001, 0.01, 0.1], "simulation.entry_steps": [3, 5]}
    local = datadao.sweep(grid, runs=2, steps=30)
    with ThreadPoolExecutor(2) as pool:
        shipped = datadao.sweep(grid, runs=2, steps=30, executor=pool, shards=4)
    assert shipped.runs_csv == local.runs_csv
    assert shipped.series_csv == local.series_csv


def test_runs_release_the_gil():
    ticks = 0
    done = threading.Event()

    def count():
        nonlocal ticks
        while not done.is_set():
            ticks += 1

    t = threading.Thread(target=count)
    t.start()
    before = ticks
    datadao.run(settings={"simulation.agents_per_entry": 50}, steps=2000)
    during = ticks - before
    done.set()
    t.join()
    assert during > 1000, during


@pytest.mark.parametrize("call", ["run", "sweep"])
def test_ctrl_c_stops_a_long_run_promptly(call):
    code = {
        "run": "datadao.run(steps=1_000_000, settings={'simulation.entry_steps': 10_000_000, 'simulation.initial_agents': 2000}, progress=False)",
        "sweep": "datadao.sweep({'market.fee_rate': [0.001, 0.002]}, runs=500, progress=False)",
    }[call]
    p = subprocess.Popen(
        [sys.executable, "-c", f"import datadao; print('ready', flush=True); {code}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert p.stdout.readline().strip() == "ready"
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    started = time.time()
    try:
        _, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        raise
    assert time.time() - started < 5, "stopped promptly"
    assert "KeyboardInterrupt" in err, err
    assert p.returncode != 0


def test_the_palette_is_the_figures_one():
    colours = datadao.palette()
    assert list(colours) == ["degen", "organization", "power", "active", "casual"]
    assert colours["degen"] == "#d62728"
    assert all(len(c) == 7 and c.startswith("#") for c in colours.values())
    # A scenario's own types follow the seed's, in name order as a run orders them.
    own = datadao.palette(["farmer", "bot"])
    assert list(own)[5:] == ["bot", "farmer"]
    assert len(set(own.values())) == 7
    with pytest.raises(datadao.ConfigError, match="at most 11"):
        datadao.palette([f"t{i}" for i in range(12)])


def test_events_and_rules_as_python_values_equal_the_cli(cli, tmp_path):
    """Events given as ``events=`` and rules as a settings value (lists of dicts) give
    exactly the CLI's numbers for the same scenario file."""
    (tmp_path / "s.toml").write_text(
        '[[events]]\nstep = 20\nset = { "market.fee_rate" = 0.05 }\n\n'
        '[[events]]\nstep = 30\njoin = { type = "organization", count = 5 }\n\n'
        '[[agents.casual.rules]]\nwhen = "ddt > dust"\ndo = "sell"\namount = "ddt / 2"\n'
    )
    run_cli(cli, tmp_path, "-q", "--config", "s.toml", "--steps", "60", "--no-plot")
    r = datadao.run(
        steps=60,
        events=[
            {"step": 20, "set": {"market.fee_rate": 0.05}},
            {"step": 30, "join": {"type": "organization", "count": 5}},
        ],
        settings={"agents.casual.rules": [{"when": "ddt > dust", "do": "sell", "amount": "ddt / 2"}]},
        transactions=True,
    )
    data = read_cli_csv(tmp_path / "simulation_data.csv")
    pd.testing.assert_frame_equal(r.steps, data, check_exact=True, check_dtype=False)
    assert r.steps["fee_rate"].iloc[19] == 0.003 and r.steps["fee_rate"].iloc[20] == 0.05
    assert (r.transactions["action"].astype(str) == "event").sum() == 2
    with pytest.raises(datadao.ConfigError, match="given twice"):
        datadao.run(steps=5, events=[], settings={"events": []})
    with pytest.raises(datadao.ConfigError, match=r"events\[0\]\.step"):
        datadao.run(steps=5, events=[{"step": 99, "set": {"market.fee_rate": 0.01}}])


def test_leavers_and_the_spread_of_wealth():
    """A ``leave`` event adds ``left_step`` to ``r.agents``; ``output.distribution``
    adds each type's spread of wealth to ``r.steps``, whose last row is that of
    ``r.agents``'s ``wealth_xdai``."""
    r = datadao.run(
        steps=120,
        audit=True,
        events=[{"step": 60, "leave": {"type": "casual", "fraction": 0.5}}],
        settings={"output.distribution": True},
    )
    left = r.agents["left_step"]
    gone = r.agents[left.notna()]
    assert len(gone) > 5 and (gone["type"] == "casual").all() and (gone["left_step"] == 60).all()
    assert (gone["weight"] == 0).all()
    present = r.agents[left.isna()]
    last = r.steps.iloc[-1]
    assert last["agents_casual"] == (present["type"] == "casual").sum()
    power = present[present["type"] == "power"]["wealth_xdai"]
    assert last["wealth_p50_power"] == pytest.approx(power.median(), rel=1e-12)
    plain = datadao.run(steps=10)
    assert "left_step" not in plain.agents and not any("gini" in c for c in plain.steps)


def test_agents_declare_a_scenarios_own_types(cli, tmp_path):
    """``agents=`` is the scenario file's ``[agents.<name>]``: the same numbers as the
    CLI's run of that file, in run and in sweep; misuse is refused by name."""
    (tmp_path / "s.toml").write_text(
        '[agents.holder]\nshare = 0.1\ninitial_ddt = 10\n\n[agents.holder.data]\nquantity = 500\n\n'
        '[[agents.holder.rules]]\nwhen = "ddt > 5"\ndo = "sell"\namount = 1\n'
    )
    run_cli(cli, tmp_path, "-q", "--config", "s.toml", "--steps", "60", "--no-plot")
    holder = {
        "share": 0.1,
        "initial_ddt": 10,
        "data": {"quantity": 500},
        "rules": [{"when": "ddt > 5", "do": "sell", "amount": 1}],
    }
    r = datadao.run(steps=60, agents={"holder": holder})
    data = read_cli_csv(tmp_path / "simulation_data.csv")
    pd.testing.assert_frame_equal(r.steps, data, check_exact=True, check_dtype=False)
    assert r.steps["agents_holder"].iloc[-1] > 0
    assert (r.agents["type"] == "holder").sum() == r.steps["agents_holder"].iloc[-1]
    s = datadao.sweep({"market.fee_rate": [0.003, 0.01]}, steps=30, agents={"holder": holder})
    assert "final_avg_xdai_holder" in s.runs
    with pytest.raises(datadao.ConfigError, match="given twice"):
        datadao.run(steps=5, agents={"holder": {"share": 0.1}}, settings={"agents.holder.share": 0.2})
    with pytest.raises(datadao.ConfigError, match="agents="):
        datadao.run(steps=5, agents=["holder"])
    with pytest.raises(datadao.ConfigError, match="agents.Holder"):
        datadao.run(steps=5, agents={"Holder": {"share": 0.1}})


def test_a_policy_equal_to_rules_gives_their_numbers():
    """A Python policy that says what a rules definition says gives the same numbers
    cell for cell, transactions included, ``o.chance`` drawing as ``chance`` does."""
    rules = [
        {"when": "ddt > 5", "do": "sell", "amount": 1},
        {"when": "chance(0.3)", "do": "buy", "amount": 2},
        {"when": "age >= 3", "do": "spend", "amount": 1, "use_case": "research", "partial": True},
    ]

    def policy(o):
        out = []
        if o.ddt > 5:
            out.append(("sell", 1))
        if o.chance(0.3):
            out.append(("buy", 2))
        # Rules see the state each predecessor left; a policy reads before it acts, so
        # this condition is one its predecessors cannot change.
        if o.age >= 3:
            out.append({"do": "spend", "amount": 1, "use_case": "research", "partial": True})
        return out

    bot = {"share": 0.1, "initial_ddt": 10, "initial_xdai": 1}
    a = datadao.run(steps=150, audit=True, transactions=True, agents={"bot": {**bot, "rules": rules}})
    b = datadao.run(steps=150, audit=True, transactions=True, agents={"bot": {**bot, "policy": policy}})
    assert a.steps["agents_bot"].iloc[-1] > 5
    assert (a.transactions["agent_type"].astype(str) == "bot").sum() > 100
    pd.testing.assert_frame_equal(a.steps, b.steps, check_exact=True)
    pd.testing.assert_frame_equal(a.transactions, b.transactions, check_exact=True)


def test_a_policys_errors_stop_the_run_with_its_traceback():
    """An exception inside the policy is raised by ``run()`` as itself, traceback and
    all; a bad action, a bad return value or an observation kept past its call are
    refused by name."""

    def boom(o):
        if o.step == 20:
            raise ZeroDivisionError("the policy's own error")
        return []

    with pytest.raises(ZeroDivisionError, match="the policy's own error") as caught:
        datadao.run(steps=60, agents={"bot": {"share": 0.2, "policy": boom}})
    assert any(entry.name == "boom" for entry in caught.traceback)
    for returned, message in [
        (lambda o: [("fly", 1)], "action 'fly'"),
        (lambda o: 5, "accepted: a list"),
        (lambda o: [{"do": "spend", "amount": 1, "use_case": "nowhere"}], "use_case 'nowhere'"),
        (lambda o: [("buy", "lots")], "amount = lots"),
        (lambda o: iter(lambda: ("sell", 1), None), "more than 10000 actions"),
    ]:
        with pytest.raises((ValueError, TypeError), match=message):
            datadao.run(steps=30, agents={"bot": {"share": 0.2, "policy": returned}})
    kept = []
    with pytest.raises(RuntimeError, match="has ended"):
        datadao.run(steps=30, agents={"bot": {"share": 0.2, "policy": lambda o: kept.append(o) or []}})
        kept[0].ddt
    with pytest.raises(datadao.ConfigError, match="callable"):
        datadao.run(steps=5, agents={"bot": {"share": 0.2, "policy": 3}})
    with pytest.raises(ZeroDivisionError, match="the policy's own error"):
        datadao.sweep({"market.fee_rate": [0.003]}, steps=30, agents={"bot": {"share": 0.2, "policy": boom}})


class Counter:
    """A stateful policy: sells 1 dDT on every third call it gets."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, o):
        self.calls += 1
        return [("sell", 1)] if self.calls % 3 == 0 and o.ddt >= 1 else []


def test_a_sweep_gives_every_run_a_fresh_copy_of_a_policy():
    """Each run of a sweep starts from a copy of the policy, so a stateful policy gives
    the same numbers on one thread or many, and run ``i`` of a point equals ``run()``
    with that seed; a policy that cannot be pickled is refused for an executor."""
    from concurrent.futures import ThreadPoolExecutor

    bot = {"bot": {"share": 0.1, "initial_ddt": 10, "policy": Counter()}}
    grid = {"market.fee_rate": [0.003, 0.01]}
    one = datadao.sweep(grid, runs=2, steps=40, jobs=1, agents=bot)
    many = datadao.sweep(grid, runs=2, steps=40, jobs=2, agents=bot)
    pd.testing.assert_frame_equal(one.runs, many.runs, check_exact=True)
    assert bot["bot"]["policy"].calls == 0, "the user's object itself is not called"
    with ThreadPoolExecutor(2) as pool:
        shipped = datadao.sweep(grid, runs=2, steps=40, agents=bot, executor=pool)
    pd.testing.assert_frame_equal(one.runs, shipped.runs, check_exact=True)
    with pytest.raises(datadao.ConfigError, match="pickled"):
        with ThreadPoolExecutor(1) as pool:
            datadao.sweep(grid, steps=5, executor=pool, agents={"bot": {"share": 0.1, "policy": lambda o: []}})


def test_a_stateful_policy_example_runs():
    """``examples/stateful_policy.py``: an object that learns across steps."""
    import runpy
    from pathlib import Path

    module = runpy.run_path(str(Path(__file__).resolve().parents[2] / "examples" / "stateful_policy.py"))
    trader, result = module["main"](steps=120)
    assert trader.calls > 0 and result.steps["agents_trader"].iloc[-1] > 0
