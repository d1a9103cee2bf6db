"""Each kind of the scenario crate's ScenarioError raises its exception class, with the
settings it is about as the exception's ``key`` and ``keys`` (read from the error's
fields, never from its message)."""

import pytest

import datadao
from datadao import _native


def test_a_bad_value_is_a_config_error_naming_its_setting():
    with pytest.raises(datadao.ConfigError) as e:
        datadao.config(settings={"market.fee_rate": 2.0})
    assert isinstance(e.value, ValueError)
    assert e.value.key == "market.fee_rate" and e.value.keys == ["market.fee_rate"]
    assert str(e.value).startswith("invalid setting market.fee_rate = '2.0'")


def test_settings_that_break_a_rule_together_are_all_named():
    with pytest.raises(datadao.ConfigError) as e:
        datadao.config(settings={"governance.enabled": True, "simulation.rules": "original-2024"})
    assert e.value.key == "governance.enabled"
    assert e.value.keys == ["governance.enabled", "simulation.rules"]


def test_an_unknown_setting_and_an_unknown_preset_are_config_errors():
    with pytest.raises(datadao.ConfigError) as e:
        datadao.config(settings={"market.fee_rat": 0.1})
    assert e.value.key == "market.fee_rat" and "did you mean 'market.fee_rate'" in str(e.value)
    with pytest.raises(datadao.ConfigError) as e:
        datadao.config(preset="nope")
    assert e.value.key == "preset"
    assert str(e.value).startswith("unknown preset 'nope' (from argument preset=); accepted: seed,")


def test_a_bad_grid_is_a_config_error():
    with pytest.raises(datadao.ConfigError) as e:
        datadao.sweep({"market.fee_rate": []}, steps=5)
    assert e.value.key == "market.fee_rate"
    with pytest.raises(datadao.ConfigError) as e:
        datadao.sweep("market.fee_rate", steps=5)
    assert e.value.key is None and e.value.keys == []


def test_shards_that_are_not_one_sweep_are_a_merge_error():
    with pytest.raises(datadao.MergeError) as e:
        _native.merge_shards([])
    assert isinstance(e.value, RuntimeError)
    assert e.value.key is None and e.value.keys == []


def test_a_resource_refusal_names_the_settings_behind_it():
    with pytest.raises(datadao.ResourceError) as e:
        datadao.run(settings={"simulation.agents_per_entry": 2_000_000}, steps=2000)
    assert isinstance(e.value, MemoryError)
    assert "simulation.agents_per_entry" in e.value.keys
    assert all(k in str(e.value) for k in e.value.keys)


def test_a_python_value_that_is_no_setting_value_names_its_key():
    with pytest.raises(datadao.ConfigError) as e:
        datadao.config(settings={"market.fee_rate": object()})
    assert e.value.key == "market.fee_rate" and e.value.keys == ["market.fee_rate"]


def test_every_exception_class_answers_key_and_keys():
    for cls in (datadao.ConfigError, datadao.ResourceError, datadao.MergeError):
        assert cls.key is None and tuple(cls.keys) == ()
    with pytest.raises(datadao.ConfigError) as e:
        datadao.run(steps=-1)
    assert isinstance(e.value.keys, (list, tuple))


def test_a_setting_swept_twice_is_refused_by_the_library_naming_it():
    with pytest.raises(datadao.ConfigError, match="is swept twice") as e:
        datadao.sweep(["market.fee_rate=0.1,0.2", "market.fee_rate=0.3"], steps=5)
    assert e.value.key == "market.fee_rate"
