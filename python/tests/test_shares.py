"""A call that sets only some shares of a group gets the others rebalanced in
proportion to their sizes (the CLI's rule), and one that sets a whole group must sum
to 1."""

import pytest

import datadao


def test_one_share_takes_its_room_from_the_others():
    c = datadao.config(settings={"agents.degen.share": 0.5})
    assert c["agents.degen.share"] == 0.5
    assert c["agents.organization.share"] == pytest.approx(0.05 * 0.5 / 0.6, abs=1e-12)
    assert c["agents.active.share"] == pytest.approx(0.3 * 0.5 / 0.6, abs=1e-12)
    total = sum(c[f"agents.{t}.share"] for t in ("degen", "organization", "power", "active", "casual"))
    assert total == pytest.approx(1.0, abs=1e-12)


def test_a_pie_share_and_a_sweep_point_rebalance_too():
    c = datadao.config(settings={"pie.shares.power": 0.6})
    assert c["pie.shares.active"] == pytest.approx(0.4 * 0.4 / 0.6, abs=1e-12)
    assert c["pie.shares.casual"] == pytest.approx(0.2 * 0.4 / 0.6, abs=1e-12)
    s = datadao.sweep({"agents.degen.share": [0.2, 0.6]}, steps=20)
    assert len(s.runs) == 2


def test_a_whole_group_that_does_not_sum_to_one_is_refused():
    shares = {"degen": 0.5, "organization": 0.05, "power": 0.05, "active": 0.3, "casual": 0.2}
    with pytest.raises(datadao.ConfigError, match="sum to 1"):
        datadao.config(settings={f"agents.{t}.share": v for t, v in shares.items()})
    with pytest.raises(datadao.ConfigError) as e:
        datadao.config(settings={"pie.shares.power": 0.7, "pie.shares.active": 0.5})
    assert set(e.value.keys) == {"pie.shares.power", "pie.shares.active"}
