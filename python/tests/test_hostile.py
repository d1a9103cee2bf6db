"""Hostile arguments never crash the interpreter (issue 19, part 2).

Every case that could crash runs in a child interpreter, so a segfault or an abort shows
as a failing exit code (139, 134) instead of a dead pytest: the child makes the call,
catches what it raised and prints its class and message, and the test reads them.
"""

import concurrent.futures as cf
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import datadao

# ---------------------------------------------------------------------------
# The child interpreter


def child(body: str, timeout: float = 120) -> dict:
    """Run ``body`` in a fresh interpreter with ``datadao`` imported; it ends with a call
    whose exception (or ``None``) is reported as JSON on the last line of stdout."""
    code = "import datadao, json, sys\n" + textwrap.dedent(body)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"the interpreter died with exit code {p.returncode}: {p.stderr[-2000:]}"
    last = p.stdout.strip().splitlines()[-1]
    return json.loads(last)


REPORT = """
def report(call):
    try:
        call()
    except BaseException as e:  # what `except BaseException` must be able to catch
        print(json.dumps({"type": type(e).__name__, "mro": [c.__name__ for c in type(e).__mro__],
                          "message": str(e)}))
    else:
        print(json.dumps({"type": None}))
"""


def raised(call: str, setup: str = "", timeout: float = 120) -> dict:
    """The exception ``call`` (an expression) raises in a child interpreter."""
    return child(setup + "\n" + REPORT + f"\nreport(lambda: {call})\n", timeout=timeout)


DEEP = """
deep = []
cur = deep
for _ in range(10_000):
    nxt = []
    cur.append(nxt)
    cur = nxt
"""
DEEP_TUPLE = """
deep = ()
for _ in range(10_000):
    deep = (deep,)
"""
CYCLE = "x = []\nx.append(x)\n"
MUTUAL = "a = []\nb = [a]\na.append(b)\n"
DICT_CYCLE = "d = {}\nd['a'] = d\n"

# ---------------------------------------------------------------------------
# 1. Depth limit and cycle check for every argument that converts

NESTED = [
    # (setup, call, words in the message)
    (CYCLE, "datadao.run(settings={'data.use_cases': x})", ['settings["data.use_cases"]', "contains itself"]),
    (CYCLE, "datadao.config(settings={'market.fee_rate': x})", ['settings["market.fee_rate"]', "contains itself"]),
    (MUTUAL, "datadao.config(settings={'data.use_cases': a})", ['settings["data.use_cases"]', "contains itself"]),
    (DEEP, "datadao.run(settings={'data.use_cases': deep})", ['settings["data.use_cases"]', "levels deep"]),
    (DEEP_TUPLE, "datadao.config(settings={'data.use_cases': deep})", ['settings["data.use_cases"]', "levels deep"]),
    (DICT_CYCLE, "datadao.config(settings={'market.fee_rate': d})", ['settings["market.fee_rate"]', "dict"]),
    (DICT_CYCLE, "datadao.config(settings={'data.use_cases': [d]})", ['settings["data.use_cases"]', "dict"]),
    ("s = {}\ns['market.fee_rate'] = s\n", "datadao.config(settings=s)", ['settings["market.fee_rate"]']),
    (CYCLE, "datadao.config(settings=x)", ["argument settings="]),
    (CYCLE, "datadao.run(steps=x)", ["argument steps=", "contains itself"]),
    (DEEP, "datadao.run(seed=deep)", ["argument seed=", "levels deep"]),
    (CYCLE, "datadao.sweep({'data.use_cases': x})", ['grid["data.use_cases"]', "contains itself"]),
    (CYCLE, "datadao.sweep({'data.use_cases': [x]})", ['grid["data.use_cases"]', "contains itself"]),
    (DEEP, "datadao.sweep({'market.fee_rate': deep})", ['grid["market.fee_rate"]', "levels deep"]),
    (DEEP_TUPLE, "datadao.sweep({'market.fee_rate': [deep]})", ['grid["market.fee_rate"]', "levels deep"]),
    (DICT_CYCLE, "datadao.sweep({'market.fee_rate': d})", ['grid["market.fee_rate"]']),
    (DICT_CYCLE, "datadao.sweep(d)", ['grid["a"]', "dict"]),
    (CYCLE, "datadao.sweep(x)", ["grid item"]),
    (DEEP, "datadao.sweep(deep)", ["grid item"]),
    (CYCLE, "datadao.sweep({'market.fee_rate': [0.1]}, settings={'data.use_cases': x})", ['settings["data.use_cases"]']),
    (CYCLE, "datadao.sweep({'market.fee_rate': [0.1]}, steps=x)", ["argument steps="]),
    (CYCLE, "datadao.sweep({'market.fee_rate': [0.1]}, runs=x)", ["argument runs="]),
    (CYCLE, "datadao.sweep({'market.fee_rate': [0.1]}, jobs=x)", ["argument jobs="]),
    (CYCLE, "datadao.run(preset=x)", ["argument preset="]),
    (CYCLE, "datadao.run(transactions=x)", ["argument transactions="]),
    (CYCLE, "datadao.sweep({'market.fee_rate': [0.1]}, zip=x)", ["argument zip="]),
]


@pytest.mark.parametrize("setup, call, words", NESTED, ids=[c for _, c, _ in NESTED])
def test_nested_and_self_referential_arguments_raise_config_error(setup, call, words):
    e = raised(call, setup)
    assert e["type"] == "ConfigError", e
    assert "ValueError" in e["mro"]
    for w in words:
        assert w in e["message"], e["message"]


HUGE = [
    ("datadao.run(steps=10**5000)", ["argument steps=", "bits"]),
    ("datadao.config(settings={'market.fee_rate': 10**5000})", ['settings["market.fee_rate"]', "bits"]),
    ("datadao.config(settings={'data.use_cases': [10**5000]})", ['settings["data.use_cases"]', "bits"]),
    ("datadao.sweep({'simulation.seed': [10**5000]})", ['grid["simulation.seed"]', "bits"]),
    ("datadao.sweep({'market.fee_rate': [0.1]}, runs=10**5000)", ["argument runs="]),
    ("datadao.sweep({'market.fee_rate': itertools.count()})", ['grid["market.fee_rate"]', "at most 100000"]),
    ("datadao.sweep({'market.fee_rate': {0.1, 0.2}})", ['grid["market.fee_rate"]', "no order"]),
    ("datadao.sweep({'market.fee_rate': b'ab'})", ['grid["market.fee_rate"]']),
    ("datadao.sweep({'market.fee_rate': 0.1})", ['grid["market.fee_rate"]']),
    ("datadao.sweep({1: [0.1]})", ["grid key 1"]),
    ("datadao.config(settings={('a',): 1})", ["settings key"]),
]


@pytest.mark.parametrize("call, words", HUGE, ids=[c for c, _ in HUGE])
def test_huge_and_endless_values_raise_config_error(call, words):
    e = raised(call, "import itertools\n")
    assert e["type"] == "ConfigError", e
    for w in words:
        assert w in e["message"], e["message"]


def test_any_mapping_is_settings_but_nothing_else():
    import types

    c = datadao.config(settings=types.MappingProxyType({"market.fee_rate": 0.01}))
    assert c["market.fee_rate"] == 0.01
    for bad in (["market.fee_rate", 0.01], "market.fee_rate=0.01", 3):
        with pytest.raises(datadao.ConfigError, match="argument settings="):
            datadao.config(settings=bad)


def test_a_list_of_lists_within_the_limit_still_converts():
    # Exactly as deep as a setting can use: a list setting's list of values.
    r = datadao.config(settings={"data.use_cases": ("research", "commercial", "ai_training")})
    assert r["data.use_cases"] == ["research", "commercial", "ai_training"]
    assert datadao._native.MAX_DEPTH == 32


# ---------------------------------------------------------------------------
# 2. The memory estimate before any work, and allocations that fail gracefully


def test_a_population_that_cannot_fit_is_refused_before_any_work():
    started = time.monotonic()
    e = raised("datadao.run(settings={'simulation.agents_per_entry': 2_000_000})")
    assert e["type"] == "ResourceError", e
    assert "MemoryError" in e["mro"]
    m = e["message"]
    for w in ['simulation.agents_per_entry = \'2000000\' (from settings["simulation.agents_per_entry"])',
              "800000010 agents", "GB of memory", "allows", "output.allow_huge"]:
        assert w in m, m
    assert time.monotonic() - started < 30


def test_the_issue_case_raises_and_except_base_exception_catches_it():
    # 122 million agents per entry: today refused by the model's own population bound
    # (a ConfigError); either way an exception, never SIGABRT.
    e = raised("datadao.run(settings={'simulation.agents_per_entry': 122000000})")
    assert e["type"] in ("ConfigError", "ResourceError"), e
    assert "simulation.agents_per_entry" in e["message"]


def test_the_transaction_log_counts_in_the_estimate():
    # 4 million agents fit; their 4 billion agent-steps of transaction rows do not.
    e = raised("datadao.run(settings={'simulation.agents_per_entry': 10_000}, transactions=True)")
    assert e["type"] == "ResourceError", e
    assert "transaction log" in e["message"] and "transactions=False" in e["message"], e["message"]
    # The steps table counts too: a billion steps of a tiny population.
    e = raised("datadao.run(steps=1_000_000_000, settings={'simulation.entry_steps': 10**9})")
    assert e["type"] == "ResourceError", e
    assert "steps table of 1000000000 steps" in e["message"], e["message"]


def test_sweeps_count_their_parallel_runs():
    e = raised("datadao.sweep({'market.fee_rate': [0.1]}, settings={'simulation.agents_per_entry': 2_000_000}, jobs=4)")
    assert e["type"] == "ResourceError", e
    assert "4 parallel runs" in e["message"], e["message"]


LIMITED = """
import resource
def limit(extra):
    # The address space this interpreter has now, plus `extra` bytes.
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[0])
    now = pages * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (now + extra, now + extra))
"""


def test_the_estimate_uses_the_tightest_limit_and_names_it():
    # Under `ulimit -v` the address-space limit is tighter than the machine's memory.
    e = raised("datadao.run(settings={'simulation.initial_agents': 5_000_000})", LIMITED + "limit(2 << 30)\n")
    assert e["type"] == "ResourceError", e
    m = e["message"]
    assert "ulimit -v (RLIMIT_AS" in m and "simulation.initial_agents = '5000000'" in m, m
    e = raised("datadao.sweep({'market.fee_rate': [0.1, 0.2]}, jobs=2, settings={'simulation.initial_agents': 3_000_000})",
               LIMITED + "limit(2 << 30)\n")
    assert e["type"] == "ResourceError" and "2 parallel runs" in e["message"] and "ulimit -v" in e["message"], e


def test_an_allocation_the_system_refuses_raises_memory_error():
    # Started anyway (allow_huge), under an address-space limit: the engine's
    # reservation for 20 million agents fails and raises instead of aborting.
    e = raised(
        "datadao.run(steps=5, settings={'simulation.initial_agents': 20_000_000, 'output.allow_huge': True})",
        LIMITED + "limit(1 << 30)\n",
    )
    assert e["type"] == "ResourceError", e
    assert "MemoryError" in e["mro"]


def test_a_transaction_log_that_outgrows_the_memory_raises_memory_error():
    e = raised(
        "datadao.run(transactions=True, settings={'output.allow_huge': True})",
        LIMITED + "limit(300 << 20)\n",
    )
    assert e["type"] in ("ResourceError", "MemoryError"), e
    assert "MemoryError" in e["mro"]


def test_a_sweep_whose_runs_cannot_allocate_raises_memory_error():
    e = raised(
        "datadao.sweep({'market.fee_rate': [0.1, 0.2]}, runs=2, steps=3,"
        " settings={'output.allow_huge': True, 'simulation.initial_agents': 3_000_000})",
        LIMITED + "limit(1 << 30)\n",
    )
    assert e["type"] == "ResourceError", e
    assert "point 0 run" in e["message"] and "agents" in e["message"], e["message"]


# ---------------------------------------------------------------------------
# 3. Ctrl-C within half a second at any population, and during a foresight vote

INTERRUPT = """
import time
print("ready", flush=True)
try:
    {call}
except KeyboardInterrupt:
    print(json.dumps({{"caught": time.time()}}), flush=True)
else:
    print(json.dumps({{"caught": None}}), flush=True)
"""


def interrupt_latency(call: str, wait: float) -> tuple:
    """Start ``call`` in a child, send SIGINT after ``wait`` seconds, and return the
    seconds until the child caught ``KeyboardInterrupt`` and until it exited."""
    p = subprocess.Popen(
        [sys.executable, "-c", "import datadao, json\n" + INTERRUPT.format(call=call)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert p.stdout.readline().strip() == "ready"
    time.sleep(wait)
    assert p.poll() is None, p.communicate()
    sent = time.time()
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        raise
    exited = time.time() - sent
    assert p.returncode == 0, err
    caught = json.loads(out.strip().splitlines()[-1])["caught"]
    assert caught is not None, "the run ended before the signal"
    return caught - sent, exited


def test_ctrl_c_at_four_million_agents():
    caught, exited = interrupt_latency(
        "datadao.run(steps=1000, settings={'simulation.initial_agents': 4_000_000}, progress=False)", 6.0
    )
    print(f"\nCtrl-C at 4M agents: KeyboardInterrupt after {caught:.3f} s, exit after {exited:.3f} s")
    assert caught < 5, caught  # a bound that catches failures, not a benchmark


def test_ctrl_c_during_a_foresight_vote():
    # One vote's fork runs for a million steps: only a check inside the fork can stop it.
    caught, exited = interrupt_latency(
        "datadao.run(preset='governed', steps=60, progress=False, settings={"
        "'governance.horizon': 1_000_000, 'governance.fork_agent_steps': 10**12})",
        4.0,
    )
    print(f"\nCtrl-C during a vote: KeyboardInterrupt after {caught:.3f} s, exit after {exited:.3f} s")
    assert caught < 5, caught


def test_ctrl_c_in_a_sweep_of_big_populations():
    caught, exited = interrupt_latency(
        "datadao.sweep({'market.fee_rate': [0.001, 0.002]}, runs=2, jobs=2, steps=1000, progress=False,"
        " settings={'simulation.initial_agents': 1_000_000})",
        5.0,
    )
    print(f"\nCtrl-C in a sweep of 1M-agent runs: KeyboardInterrupt after {caught:.3f} s")
    assert caught < 5, caught


def test_ctrl_c_while_a_million_points_are_resolved():
    caught, _ = interrupt_latency("datadao.sweep({'simulation.seed': '1..1000:1', 'market.fee_rate': '0.0001..0.1:0.0001'}, progress=False)", 2.0)
    print(f"\nCtrl-C while resolving a million points: KeyboardInterrupt after {caught:.3f} s")
    assert caught < 5, caught


def test_a_progress_callback_that_raises_stops_the_run():
    class Boom:
        def __call__(self, done):
            raise ValueError("from the callback")

    with pytest.raises(ValueError, match="from the callback"):
        datadao._native.run(settings={"simulation.initial_agents": 200_000}, steps=200, progress=Boom())


# ---------------------------------------------------------------------------
# 4 and 6. Grids are values, and a bad grid value says it came from the grid


def test_a_string_with_a_comma_is_one_value_and_names_the_grid():
    with pytest.raises(datadao.ConfigError) as e:
        datadao.sweep({"market.fee_rate": ["0.1,0.2"]})
    m = str(e.value)
    assert "market.fee_rate = '0.1,0.2'" in m and 'grid["market.fee_rate"]' in m, m
    assert "settings[" not in m
    # One point, not two: its value is refused as a whole.
    with pytest.raises(datadao.ConfigError, match="'sequential,shuffled'"):
        datadao.sweep({"simulation.activation": ["sequential,shuffled"]})


@pytest.mark.parametrize(
    "values, words",
    [
        ([2], ["market.fee_rate = '2'", "[0, 1)"]),
        ([0.1, float("nan")], ["finite"]),
        ([float("inf")], ["finite"]),
        ([None], ["None"]),
        (["ten"], ["'ten'"]),
        ([[0.1]], ["market.fee_rate"]),
        ([10**30], ["market.fee_rate"]),
    ],
)
def test_bad_grid_values_name_the_grid(values, words):
    with pytest.raises(datadao.ConfigError) as e:
        datadao.sweep({"market.fee_rate": values}, steps=5)
    m = str(e.value)
    assert 'grid["market.fee_rate"]' in m and "settings[" not in m, m
    for w in words:
        assert w in m, m


def test_list_values_of_a_list_setting_are_one_point_each():
    cases = [["research", "commercial", "ai_training"], ["research", "commercial", "x-y"]]
    s = datadao.sweep({"data.use_cases": cases}, runs=1, steps=10)
    assert list(s.runs["data.use_cases"]) == ['["research", "commercial", "ai_training"]',
                                              '["research", "commercial", "x-y"]']
    assert b'"[""research"", ""commercial"", ""x-y""]"' in s.runs_csv


def test_any_sequence_of_values_is_an_axis():
    base = datadao.sweep({"market.fee_rate": [0.001, 0.01], "simulation.entry_steps": [2, 3, 4]}, steps=10)
    for grid in [
        {"market.fee_rate": (0.001, 0.01), "simulation.entry_steps": range(2, 5)},
        {"market.fee_rate": np.array([0.001, 0.01]), "simulation.entry_steps": np.arange(2, 5)},
        {"market.fee_rate": iter([0.001, 0.01]), "simulation.entry_steps": "2..4:1"},
    ]:
        assert datadao.sweep(grid, steps=10).runs_csv == base.runs_csv


def test_a_text_value_that_is_not_a_range_is_refused_not_split():
    with pytest.raises(datadao.ConfigError, match="not a range"):
        datadao.sweep({"market.fee_rate": "0.1,0.2"})


def test_shards_are_counted_in_the_library_without_running_anything():
    grid = {"market.fee_rate": [0.1, 0.2], "simulation.seed": "1..3:1"}
    assert datadao._native.sweep_shards(grid) == 6
    assert datadao._native.sweep_shards(grid, shards=4) == 4
    assert datadao._native.sweep_shards(grid, shards=100) == 6
    assert datadao._native.sweep_shards({"market.fee_rate": [0.1, 0.2], "simulation.seed": [1, 2]}, zip=True) == 2
    assert datadao._native.sweep_shards({"simulation.seed": "1..1000:1"}) == 256
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(datadao.ConfigError, match="argument shards="):
            datadao._native.sweep_shards(grid, shards=bad)
    with pytest.raises(datadao.ConfigError, match=r"argument shard=\(2, 9\): 9 shards for 6 points"):
        datadao._native.sweep_tables(grid, 1, steps=2, shard=(2, 9))
    for helper in ("_points", "_normalize_grid", "_merge"):
        assert not hasattr(datadao, helper)


# ---------------------------------------------------------------------------
# 5. Executors merge through the checks of `datadao merge`


class Tampering(cf.Executor):
    """Runs each task at once, then lets ``tamper(k, result)`` change what it returns."""

    def __init__(self, tamper):
        self.tamper = tamper
        self.k = 0

    def submit(self, fn, *args, **kwargs):
        self.k += 1
        f = cf.Future()
        f.set_result(self.tamper(self.k, fn(*args, **kwargs)))
        return f


GRID = {"market.fee_rate": [0.001, 0.01, 0.1], "simulation.entry_steps": [3, 5]}


def shipped(tamper, **kwargs):
    return datadao.sweep(GRID, runs=2, steps=12, executor=Tampering(tamper), shards=3, **kwargs)


def test_an_honest_executor_gives_the_local_tables():
    local = datadao.sweep(GRID, runs=2, steps=12)
    s = shipped(lambda k, r: r)
    assert (s.runs_csv, s.series_csv) == (local.runs_csv, local.series_csv)


def drop_row(text: bytes, n: int = 1) -> bytes:
    lines = text.split(b"\n")
    del lines[n]
    return b"\n".join(lines)


def dup_row(text: bytes, n: int = 1) -> bytes:
    lines = text.split(b"\n")
    lines.insert(n, lines[n])
    return b"\n".join(lines)


def test_broken_executors_raise_merge_error():
    first = {}

    def same_twice(k, r):
        first.setdefault("r", r)
        return first["r"]

    foreign = datadao._native.sweep_tables(GRID, 3, steps=12, shard=(2, 3))
    cases = [
        (same_twice, "given twice"),
        (lambda k, r: (drop_row(r[0]),) + r[1:] if k == 2 else r, "expected 2"),
        (lambda k, r: (dup_row(r[0]),) + r[1:] if k == 1 else r, "twice"),
        (lambda k, r: (r[0], drop_row(r[1], 3)) + r[2:] if k == 3 else r, "expected"),
        (lambda k, r: foreign if k == 2 else r, "different sweep"),
        (lambda k, r: None if k == 3 else r, "4-tuple"),
        (lambda k, r: (r[0], r[1], None, r[3]), "not a shard"),
        (lambda k, r: (r[0], r[1], "shard = 1\nof = 3\npoints = 6\n", r[3]), "given twice"),
        (lambda k, r: (r[0], r[1], "shard = 9\nof = 3\npoints = 6\n", r[3]), "shard 9 of 3"),
        (lambda k, r: (r[0][:-5],) + r[1:], "cut off"),
        (lambda k, r: (12345,) + r[1:], "sweep_runs.csv"),
    ]
    for tamper, words in cases:
        first.clear()
        with pytest.raises(datadao.MergeError) as e:
            shipped(tamper)
        assert isinstance(e.value, RuntimeError)
        assert words in str(e.value), (words, str(e.value))
