"""Governed runs from Python: the governance table and the new columns equal the CLI's
files cell for cell, and governance off leaves everything as it was."""

import numpy as np
import pandas as pd
import pytest

import datadao
from conftest import run_cli


@pytest.mark.parametrize("preset", ["governed", "plutocracy"])
def test_governed_runs_equal_the_cli_cell_for_cell(cli, tmp_path, preset):
    run_cli(cli, tmp_path, "-q", "--audit", "--preset", preset, "--steps", "130", "--seed", "3")
    r = datadao.run(preset=preset, steps=130, seed=3, transactions=True, audit=True)
    data = pd.read_csv(tmp_path / "simulation_data.csv")
    assert list(r.steps.columns) == list(data.columns)
    assert {"treasury_ddt", "backing_ratio", "proposals_passed", "fee_rate"} <= set(data.columns)
    pd.testing.assert_frame_equal(r.steps, data, check_exact=True, check_dtype=False)

    gov = pd.read_csv(tmp_path / "governance.csv")
    assert r.governance is not None
    assert list(r.governance.columns) == list(gov.columns)
    assert len(r.governance) == len(gov) == 4
    pd.testing.assert_frame_equal(r.governance, gov, check_exact=True, check_dtype=False)
    assert r.steps["proposals"].iloc[-1] == len(gov)
    assert r.steps["proposals_passed"].iloc[-1] == gov["passed"].sum()
    # The summary carries the CLI's governance figures, from the last row.
    last = r.steps.iloc[-1]
    for key in ["proposals", "proposals_passed", "treasury_ddt", "treasury_xdai", "treasury_lp",
                "ddt_burned", "backing_ratio", "fee_rate", "pie_distribution_rate",
                "pie_share_power", "pie_share_active", "pie_share_casual", "mint_per_weight"]:
        assert r.summary[key] == last[key], key

    log = pd.read_csv(
        tmp_path / "transaction_history.csv",
        dtype={"detail": str},
        keep_default_na=False,
        na_values={"price": [""], "agent_id": [""]},
    )
    tx = r.transactions
    assert len(tx) == len(log)
    for col in ["agent_type", "action", "detail"]:
        assert (tx[col].astype(str).to_numpy() == log[col].astype(str).to_numpy()).all(), col
    treasury = (tx["agent_type"] == "treasury").to_numpy()
    assert treasury.sum() >= len(gov)
    assert tx["agent_id"].isna().to_numpy().tolist() == treasury.tolist()
    np.testing.assert_array_equal(
        tx["agent_id"].to_numpy(dtype=float, na_value=np.nan), log["agent_id"].to_numpy(dtype=float)
    )
    for col in ["ddt", "xdai", "lp", "ddt_balance", "xdai_balance", "price"]:
        np.testing.assert_array_equal(tx[col].to_numpy(), log[col].to_numpy(), err_msg=col)
    assert set(tx["action"].astype(str)) >= {"propose", "vote"}


def test_governance_off_has_no_governance():
    r = datadao.run(steps=40, audit=True)
    assert r.governance is None
    assert "treasury_ddt" not in r.steps.columns
    assert "proposals" not in r.summary


def test_governance_settings_are_checked():
    with pytest.raises(datadao.ConfigError, match="governance.quorum"):
        datadao.config(settings={"governance.quorum": 2})
    with pytest.raises(datadao.ConfigError, match="governance.weight"):
        datadao.config(settings={"governance.weight": "wealth"})


def test_looking_ahead_gives_the_cli_numbers(cli, tmp_path):
    """Without a transaction log, foresight votes let the run look ahead instead of
    forking twice; with the log (the CLI's default) they fork. Both give the same rows."""
    run_cli(cli, tmp_path, "-q", "--audit", "--preset", "plutocracy", "--steps", "400")
    r = datadao.run(preset="plutocracy", steps=400, audit=True)
    assert r.transactions is None
    data = pd.read_csv(tmp_path / "simulation_data.csv")
    pd.testing.assert_frame_equal(r.steps, data, check_exact=True, check_dtype=False)
    gov = pd.read_csv(tmp_path / "governance.csv")
    pd.testing.assert_frame_equal(r.governance, gov, check_exact=True, check_dtype=False)
    assert len(gov) == 13
