"""datadao: fast, audited simulations of grassroots dataDAO token economies.

The simulation core is Rust (the same code the ``datadao`` command-line tool runs);
this package is a thin layer that hands its results to pandas, polars, NumPy, SALib
and Dask. One line runs a simulation into a DataFrame::

    import datadao
    r = datadao.run(preset="privacy", settings={"market.fee_rate": 0.01})
    r.steps.plot(x="step", y="price", logy=True)

Settings are the dotted keys of ``datadao config`` (the CLI's ``--set`` keys) with
Python values. Layering: built-in defaults < ``preset`` < ``settings`` < explicit
arguments (``steps=``, ``seed=``). The environment and ``.env`` are not read (only the
CLI reads them), so a notebook's results do not depend on the shell it started from.

Exceptions: :class:`ConfigError` (a ``ValueError``) for a setting, grid value or
argument that cannot be used, naming where it came from; :class:`ResourceError` (a
``MemoryError``) for work estimated not to fit in memory, refused before it starts, or
an allocation the system refused; :class:`MergeError` (a ``RuntimeError``) for an
executor's results that are not one whole sweep. No argument crashes the interpreter:
values are converted with a depth limit and a cycle check. Ctrl-C raises
``KeyboardInterrupt`` within a fraction of a second, during a foresight vote too.
"""

from __future__ import annotations

import io
import pickle
import sys
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from . import _native
from ._native import ConfigError, MergeError, ResourceError

__all__ = [
    "ConfigError",
    "Optimization",
    "MergeError",
    "ResourceError",
    "Result",
    "Sweep",
    "config",
    "palette",
    "presets",
    "run",
    "sweep",
    "optimize",
]

__version__ = "0.1.0"

Settings = Mapping[str, Any]
Grid = Union[Mapping[str, Union[Sequence[Any], str]], str, Sequence[str]]
#: A success criterion: ``"name: metric >= value"`` or a dict with ``name``, ``metric``,
#: ``op`` (``">="``, ``"<="``, ``">"``, ``"<"``) and ``threshold``.
Criterion = Union[str, Mapping[str, Any]]


def _plain(arg: Any) -> Any:
    """A ``Mapping`` as a ``dict`` (one level, values untouched); anything else as is,
    for the native layer to accept or refuse with :class:`ConfigError`."""
    if isinstance(arg, Mapping) and not isinstance(arg, dict):
        return dict(arg)
    return arg

def _with_events(settings: Any, events: Any) -> Any:
    """``settings`` with ``events`` as its ``"events"`` key (the scenario file's
    ``[[events]]``); both at once is refused, naming them. Settings that are not a
    mapping go to the native layer as they are, to be refused there."""
    if events is None:
        return _plain(settings)
    if not isinstance(settings, (Mapping, type(None))):
        return settings
    merged = dict(settings or {})
    if "events" in merged:
        raise ConfigError(
            "invalid setting events (from argument events= and settings): given twice; accepted: one of them"
        )
    merged["events"] = events
    return merged


def _policies(agents: Any) -> Optional[Dict[str, Any]]:
    """The ``"policy"`` entries of ``agents=``, by type name (``None`` without any)."""
    if not isinstance(agents, Mapping):
        return None
    found = {
        name: table["policy"]
        for name, table in agents.items()
        if isinstance(table, Mapping) and "policy" in table
    }
    return found or None


def _with_agents(settings: Any, agents: Any) -> Any:
    """``settings`` with a scenario's own agent types (``agents={"bot": {"share": 0.1,
    ...}}``) as their dotted keys, ``agents.bot.share`` and so on: the scenario file's
    ``[agents.bot]``. A nested table (``"data": {...}``) becomes its dotted keys, a list
    (``"rules": [...]``) stays one value. A key given here and in ``settings`` is
    refused, naming it; anything that is not a mapping of names to mappings too."""
    if agents is None:
        return settings
    if not isinstance(agents, Mapping):
        raise ConfigError(
            f"invalid argument agents= {type(agents).__name__}: accepted: a mapping of type names to their settings, e.g. {{'bot': {{'share': 0.1}}}}"
        )
    if not isinstance(settings, (Mapping, type(None))):
        return settings
    merged = dict(settings or {})

    def put(key: str, value: Any) -> None:
        if key in merged:
            raise ConfigError(
                f"invalid setting {key} (from argument agents= and settings): given twice; accepted: one of them"
            )
        merged[key] = value

    for name, table in agents.items():
        if not isinstance(name, str) or not isinstance(table, Mapping):
            raise ConfigError(
                f"invalid argument agents= entry {name!r}: accepted: a type name (text) and a mapping of its settings"
            )
        for field_name, value in table.items():
            if field_name == "policy":
                continue  # not a setting: handed to the engine apart (see _policies)
            if isinstance(value, Mapping):
                for inner, v in value.items():
                    put(f"agents.{name}.{field_name}.{inner}", v)
            else:
                put(f"agents.{name}.{field_name}", value)
    return merged


_DTYPES = {"i8": "<i8", "f8": "<f8", "u1": "u1", "u4": "<u4"}


def presets() -> List[str]:
    """The names of the named scenarios ``preset=`` accepts, default first.

    >>> "privacy" in datadao.presets()
    True
    """
    return [name for name, _ in _native.presets_list()]


def config(preset: Optional[str] = None, settings: Optional[Settings] = None) -> Dict[str, Any]:
    """Every setting with its effective value, as a dict of dotted keys.

    ``preset`` starts from a named scenario (see :func:`presets`); ``settings`` overrides
    any key, e.g. ``{"market.fee_rate": 0.01}``. The result also has ``preset`` when one
    was given. Raises :class:`ConfigError` (a ``ValueError``) with the CLI's message
    when a key is unknown or a value is not accepted (a nested or self-referential list
    included: values are walked with a depth limit and a cycle check).
    """
    return dict(_native.config(preset, _plain(settings)))


def _frame(table: Mapping[str, Any]) -> pd.DataFrame:
    """A DataFrame from whole column buffers, with text columns as categoricals."""
    columns: Dict[str, Any] = {}
    categories = table["categories"]
    for name, kind, data in zip(table["names"], table["kinds"], table["data"]):
        values = np.frombuffer(data, dtype=_DTYPES[kind])
        if name in categories:
            columns[name] = pd.Categorical.from_codes(values.astype(np.int32), categories[name])
        else:
            columns[name] = values
    return pd.DataFrame(columns, copy=False)


class _Progress:
    """A tqdm bar (terminal or Jupyter) fed with absolute counts, or nothing. The
    native layer calls ``start(total)`` once it knows the work, then ``bar(done)``."""

    def __init__(self, unit: str, enabled: Optional[bool]) -> None:
        self.bar = None
        self.unit = unit
        self.enabled = enabled

    def start(self, total: int) -> None:
        enabled = self.enabled
        if enabled is None:
            enabled = total >= 5000 if self.unit == "steps" else total >= 2
            enabled = enabled and (sys.stderr.isatty() or "ipykernel" in sys.modules)
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, unit=self.unit, leave=False)

    def __call__(self, done: int) -> None:
        if self.bar is not None:
            self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@dataclass
class Result:
    """One simulation run.

    Attributes:
        steps: one row per step, exactly the columns and values of
            ``simulation_data.csv`` (empty CSV cells are NaN).
        transactions: the transaction log (the columns of ``transaction_history.csv``;
            ``agent_type``, ``action`` and ``detail`` as categoricals), or ``None``
            unless ``run(..., transactions=True)``. In governed runs the treasury's
            rows have ``agent_type`` ``"treasury"`` and no ``agent_id`` (``<NA>``).
        governance: one row per proposal (the columns of ``governance.csv``), or
            ``None`` when ``governance.enabled`` is false.
        config: the effective settings as dotted keys (what ``run_config.toml``
            records, ``output.dir`` as ``"."``), plus ``preset`` when one was used.
        summary: the figures the CLI prints at the end of a run (in governed runs
            also ``proposals``, ``proposals_passed``, the treasury, ``ddt_burned``,
            ``backing_ratio`` and each governed setting's final value, named as its
            column in ``steps``).
        flows: the run's flow diagram, one row per band (``from``, ``to``,
            ``token``, ``amount``): the numbers of the CLI's ``flows.csv`` and
            ``flows.png``, totals kept by the core as the run goes.
        agents: every agent at the end of the run, the columns of ``agents.csv``
            (``type`` as a categorical; ``wealth_xdai`` NaN without a price), or
            ``None`` for a run of no steps.
    """

    steps: pd.DataFrame
    transactions: Optional[pd.DataFrame]
    governance: Optional[pd.DataFrame]
    config: Dict[str, Any]
    summary: Dict[str, Any] = field(default_factory=dict)
    flows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["from", "to", "token", "amount"]))
    agents: Optional[pd.DataFrame] = None

    def to_polars(self) -> Tuple[Any, Any]:
        """``(steps, transactions)`` as polars DataFrames (``transactions`` may be None).

        Needs polars (``pip install polars``, or ``pip install './python[polars]'``).
        """
        try:
            import polars as pl
        except ImportError:
            raise ImportError(
                "Result.to_polars() needs polars: pip install polars (or pip install './python[polars]')"
            ) from None

        def convert(frame: pd.DataFrame) -> Any:
            columns = {}
            for name in frame.columns:
                col = frame[name]
                if isinstance(col.dtype, pd.CategoricalDtype):
                    # Codes index the categories: one gather, no per-row Python.
                    cats = pl.Series(name, [str(c) for c in col.cat.categories], dtype=pl.Categorical)
                    columns[name] = cats.gather(pl.Series(col.cat.codes.to_numpy()))
                else:
                    columns[name] = pl.Series(name, col.to_numpy())
            return pl.DataFrame(columns)

        steps = convert(self.steps)
        tx = None if self.transactions is None else convert(self.transactions)
        return steps, tx


def run(
    preset: Optional[str] = None,
    settings: Optional[Settings] = None,
    steps: Optional[int] = None,
    seed: Optional[int] = None,
    transactions: bool = False,
    audit: bool = False,
    progress: Optional[bool] = None,
    events: Optional[Sequence[Mapping[str, Any]]] = None,
    agents: Optional[Mapping[str, Mapping[str, Any]]] = None,
) -> Result:
    """Run one simulation and return its results as DataFrames.

    Args:
        preset: a named scenario to start from (see :func:`presets`), e.g.
            ``"privacy"``; default: the seed scenario.
        settings: dotted keys and values, e.g. ``{"market.fee_rate": 0.01,
            "simulation.agents_per_entry": 50}``; the same keys as the CLI's ``--set``.
        steps: number of steps (days), ``simulation.total_steps``.
        seed: seed of the run's ChaCha8 generator, ``simulation.seed``.
        transactions: also return the transaction log (5.2 million rows at default
            settings: about 1 s and 460 MB); counted in the memory estimate.
        audit: check the token ledger after every step (``simulation.audit``).
        progress: show a progress bar (tqdm, terminal or Jupyter); default: for long
            runs in an interactive session.
        events: scheduled shocks, as the scenario file's ``[[events]]``, e.g.
            ``[{"step": 100, "set": {"market.fee_rate": 0.05}}]``.
        agents: a scenario's own agent types, as the scenario file's
            ``[agents.<name>]``, e.g. ``{"holder": {"share": 0.1, "initial_ddt": 10,
            "rules": [{"do": "sell", "amount": "ddt / 2"}]}}``; their columns
            (``agents_holder``, ...) follow the seed's.

    Returns:
        A :class:`Result` with ``steps``, ``transactions``, ``config`` and ``summary``.

    Raises:
        ConfigError: a setting or argument is unknown or its value is not accepted
            (also a nested or self-referential list); the message names the setting,
            the value, where it came from and what is accepted.
        ResourceError: a ``MemoryError``: before any work, the run is estimated not to
            fit in memory (the message names the settings, the estimate and the limit;
            ``settings={"output.allow_huge": True}`` starts anyway), or the system
            refused an allocation during the run.
        RuntimeError: the audit found a broken invariant.
        KeyboardInterrupt: Ctrl-C; the run stops within a fraction of a second at any
            population, during a foresight vote too.

    The same settings and seed give exactly the numbers of the CLI's CSV files. The
    simulation runs on a thread of its own with the GIL released.
    """
    bar = _Progress("steps", progress)
    try:
        out = _native.run(
            preset,
            _with_agents(_with_events(settings, events), agents),
            steps,
            seed,
            transactions,
            audit,
            bar,
            _policies(agents),
        )
    finally:
        bar.close()
    tx = None if out["transactions"] is None else _frame(out["transactions"])
    if tx is not None and out["governance"] is not None:
        # Treasury rows carry no agent id: a nullable column, as pandas reads the CSV.
        ids = tx["agent_id"]
        tx["agent_id"] = pd.array(ids.to_numpy(), dtype="Int64").copy()
        tx.loc[ids.to_numpy() < 0, "agent_id"] = pd.NA
    gov = None if out["governance"] is None else pd.DataFrame(out["governance"])
    return Result(
        steps=_frame(out["steps"]),
        transactions=tx,
        governance=gov,
        config=dict(out["config"]),
        summary=dict(out["summary"]),
        flows=pd.DataFrame(list(out["flows"]), columns=["from", "to", "token", "amount"]),
        agents=None if out["agents"] is None else _frame(out["agents"]),
    )


@dataclass
class Sweep:
    """A sweep's tables.

    Attributes:
        runs: one row per run, the columns of ``sweep_runs.csv``.
        series: per point and recorded step, mean and 5/50/95th percentiles across
            runs, the columns of ``sweep_series.csv``.
        points: one row per point: its settings, ``runs``, and for every KPI of
            ``runs`` its ``_mean``, ``_p5``, ``_p50``, ``_p95`` (numpy's linear
            percentiles) and ``_n`` (runs where it has a value), the columns of
            ``sweep_points.csv``.
    """

    runs: pd.DataFrame
    series: pd.DataFrame
    points: pd.DataFrame = field(default_factory=pd.DataFrame)
    runs_csv: bytes = field(repr=False, default=b"")
    series_csv: bytes = field(repr=False, default=b"")
    points_csv: bytes = field(repr=False, default=b"")


def _criteria(criteria: Optional[Sequence[Criterion]]) -> Optional[List[Any]]:
    """``criteria=`` as the native layer reads it: a list of texts and plain dicts."""
    if criteria is None:
        return None
    if isinstance(criteria, (str, bytes, Mapping)):
        raise ConfigError(
            f"argument criteria={criteria!r}: accepted: a list of \"name: metric >= value\" texts or dicts with name, metric, op and threshold (a list, even of one)"
        )
    return [dict(c) if isinstance(c, Mapping) else c for c in criteria]


def _sweep_shard(kwargs: Dict[str, Any], k: int, n: int) -> Tuple[Any, ...]:
    """Run shard ``k`` of ``n`` of a sweep (a task shipped to an executor's worker):
    its tables and the texts the merge checks them with."""
    return tuple(_native.sweep_tables(shard=(k, n), progress=None, **kwargs))


def palette(own_types: Sequence[str] = ()) -> Dict[str, str]:
    """Each agent type's colour (``#rrggbb``), the one palette of ``simulation_results.png``,
    ``datadao compare``, ``datadao sweep`` and the dashboard, e.g. for matplotlib:
    ``ax.plot(x, y, color=datadao.palette()["degen"])``.

    The seed's five types come first; ``own_types`` names a scenario's own types
    (``agents={"farmer": ...}``), which take the next colours in name order, as a run
    gives them: ``datadao.palette(["farmer"])["farmer"]``."""
    if isinstance(own_types, str):
        own_types = [own_types]
    return dict(_native.type_colors([str(t) for t in own_types]))


def sweep(
    grid: Grid,
    runs: int = 1,
    preset: Optional[str] = None,
    settings: Optional[Settings] = None,
    steps: Optional[int] = None,
    zip: bool = False,
    jobs: Optional[int] = None,
    executor: Optional[Executor] = None,
    progress: Optional[bool] = None,
    shards: Optional[int] = None,
    events: Optional[Sequence[Mapping[str, Any]]] = None,
    agents: Optional[Mapping[str, Mapping[str, Any]]] = None,
    criteria: Optional[Sequence[Criterion]] = None,
) -> Sweep:
    """Sweep settings over a grid with Monte Carlo runs per point.

    Args:
        grid: dotted key -> list of values, or a ``"START..END:STEP"`` string (END
            included), e.g. ``{"market.fee_rate": [0.001, 0.003, 0.01]}``. Several keys
            give their cartesian product (the last varies fastest).
        runs: runs per point; run ``i`` of a point uses seed ``run_seed(point seed,
            i)``, the CLI's rule.
        preset, settings, steps, events, agents: the base scenario, as in :func:`run`.
        zip: pair the axes value by value instead of taking their product.
        jobs: threads for a local sweep (default: every core).
        executor: any ``concurrent.futures.Executor`` (a Dask
            ``distributed.Client(...).get_executor()``, Ray's, a process pool). The
            points are cut into shards exactly as the CLI's ``--shard K/N`` cuts them,
            each shard runs on a worker, and the tables are merged as ``datadao merge``
            does: identical to a local sweep, byte for byte.
        progress: a progress bar over runs (local) or shards (executor).
        shards: how many shards to cut for an executor (default: one per point, at
            most 256).
        criteria: success criteria, each ``"name: metric >= value"`` (``>=``, ``<=``,
            ``>``, ``<``; ``metric`` a column of ``runs``) or a dict with ``name``,
            ``metric``, ``op`` and ``threshold``. ``runs`` gains a 0/1 column per
            criterion and ``points`` its ``<name>_pass_rate`` with the Wilson 95%
            interval (``_pass_lo``, ``_pass_hi``) and ``all_pass_rate``. A metric that is
            empty in a run (an event that never happened) counts as +infinity.

    Returns:
        A :class:`Sweep` with ``runs`` and ``series`` DataFrames.

    Raises:
        ConfigError: a grid value, setting or argument is not accepted; a grid value's
            message says it came from the grid, e.g. ``grid["market.fee_rate"]``.
        ResourceError: the sweep is estimated not to fit in memory (its points, its
            parallel runs, its tables).
        MergeError: an executor's results are not one whole sweep: a shard missing or
            given twice, a (point, run) missing or twice, a shard of another sweep
            (the checks of ``datadao merge``).
        KeyboardInterrupt: Ctrl-C, within a fraction of a second.

    Each item of a grid list is one value, whatever it holds: ``["0.1,0.2"]`` is one
    point whose value is the text ``"0.1,0.2"``, and ``[["a", "b"], ["c"]]`` two
    values of a list setting. The CLI's spellings (``"KEY=V1,V2"``, or a list of
    them) are read by the CLI's parser.
    """
    policies = _policies(agents)
    kwargs: Dict[str, Any] = dict(
        grid=_plain(grid),
        runs=runs,
        preset=preset,
        settings=_with_agents(_with_events(settings, events), agents),
        steps=steps,
        zip=zip,
        jobs=jobs,
        criteria=_criteria(criteria),
    )
    if executor is None:
        bar = _Progress("runs", progress)
        try:
            runs_csv, series_csv, _, _ = _native.sweep_tables(progress=bar, policies=policies, **kwargs)
        finally:
            bar.close()
    else:
        kwargs["jobs"] = jobs or 1
        # Every point resolved and checked here, before anything is shipped.
        n = _native.sweep_shards(shards=shards, **kwargs)
        if policies:
            # Shipped to the executor's workers: each must pickle.
            for name, policy in policies.items():
                try:
                    pickle.dumps(policy)
                except Exception as e:  # pickle raises many types
                    raise ConfigError(
                        f"invalid setting agents.{name}.policy (from argument agents=): it cannot be pickled for the executor ({e}); accepted: a module-level function or a picklable object"
                    ) from e
            kwargs["policies"] = policies
        futures = [executor.submit(_sweep_shard, kwargs, k, n) for k in range(1, n + 1)]
        bar = _Progress("shards", progress)
        bar.start(n)
        parts = []
        try:
            for i, f in enumerate(futures):
                parts.append(f.result())
                bar(i + 1)
        finally:
            bar.close()
        runs_csv, series_csv = _native.merge_shards(parts)
    runs_csv, series_csv = bytes(runs_csv), bytes(series_csv)
    points_csv = bytes(_native.points_table(runs_csv, kwargs["criteria"]))
    return Sweep(
        runs=pd.read_csv(io.BytesIO(runs_csv)),
        series=pd.read_csv(io.BytesIO(series_csv)),
        points=pd.read_csv(io.BytesIO(points_csv)),
        runs_csv=runs_csv,
        series_csv=series_csv,
        points_csv=points_csv,
    )


@dataclass
class Optimization:
    """What :func:`optimize` found.

    Attributes:
        best_params: the best trial's settings, dotted key -> value.
        best_value: its objective.
        trials: one row per trial: ``trial``, each searched setting, ``objective``,
            each criterion's ``<name>_pass_rate`` and ``all_pass_rate``.
        study: the optuna ``Study`` itself.
    """

    best_params: Dict[str, Any]
    best_value: float
    trials: pd.DataFrame
    study: Any = field(repr=False, default=None)


def _objective_of(result: "Sweep", statistic: str) -> float:
    """A one-point sweep's objective as ``datadao optimize`` computes it: the
    ``sweep_points.csv`` column, except that a metric empty in some run counts as
    +infinity (its mean is infinite; a percentile reaches it or not)."""
    if statistic.endswith("_pass_rate"):
        return float(result.points[statistic].iloc[0])
    for stat, q in (("mean", None), ("p5", 5), ("p50", 50), ("p95", 95)):
        if statistic.endswith("_" + stat):
            metric = statistic[: -len(stat) - 1]
            break
    else:
        raise ConfigError(
            f"invalid setting optimize.objective = {statistic!r}: accepted: <metric>_mean, _p5, _p50 or _p95 of a column of sweep_runs.csv, all_pass_rate or <criterion>_pass_rate"
        )
    if metric not in result.runs.columns:
        raise ConfigError(
            f"invalid setting optimize.objective = {statistic!r}: accepted: a statistic of a column of sweep_runs.csv: {', '.join(result.runs.columns)}"
        )
    values = result.runs[metric]
    if not values.isna().any():
        return float(result.points[statistic].iloc[0])
    filled = values.astype(float).fillna(np.inf).to_numpy()
    if q is None:
        return float("inf")
    return float(np.percentile(filled, q))


def _optimize_trial(kwargs: Dict[str, Any], statistic: str) -> Tuple[float, Dict[str, float]]:
    """One trial of :func:`optimize` on an executor's worker: its one-point sweep, its
    objective and its pass rates."""
    result = sweep(**kwargs)
    rates = {c: float(result.points[c].iloc[0]) for c in result.points.columns if c.endswith("_pass_rate")}
    return _objective_of(result, statistic), rates


def optimize(
    space: Mapping[str, Any],
    maximize: Optional[str] = None,
    minimize: Optional[str] = None,
    criteria: Optional[Sequence[Criterion]] = None,
    trials: int = 50,
    runs: int = 10,
    preset: Optional[str] = None,
    settings: Optional[Settings] = None,
    steps: Optional[int] = None,
    seed: Optional[int] = None,
    sampler: str = "tpe",
    executor: Optional[Executor] = None,
    n_jobs: int = 1,
    progress: Optional[bool] = None,
) -> Optimization:
    """Search settings for the best objective with optuna (``pip install "./python[optimize]"``).

    Each trial is a one-point :func:`sweep` of ``runs`` runs of the scenario with the
    trial's settings on top; run ``i`` of every trial uses the same seed (common random
    numbers), so trials differ by their settings, not their luck.

    Args:
        space: dotted key -> ``(low, high)`` (continuous; whole numbers for a
            whole-number setting), ``(low, high, step)``, ``"LOW..HIGH"``,
            ``"LOW..HIGH:STEP"``, or a list of values (categorical).
        maximize, minimize: exactly one: a column of ``sweep_points.csv``:
            ``<metric>_mean|_p5|_p50|_p95``, ``all_pass_rate`` or
            ``<criterion>_pass_rate``. A metric empty in a run counts as +infinity.
        criteria: success criteria, as for :func:`sweep`.
        trials: trials.
        runs: runs per trial.
        preset, settings, steps: the base scenario, as in :func:`run`.
        seed: the seed of the sampler and of the runs (``simulation.seed``); with a
            fixed seed and ``n_jobs=1`` the search is reproducible.
        sampler: ``"tpe"`` or ``"cmaes"`` (optuna's), or ``"random"``.
        executor: a ``concurrent.futures.Executor`` (a Dask
            ``distributed.Client(...).get_executor()``): trials are asked in batches of
            ``n_jobs`` and each trial's runs go to a worker; they are told in trial
            order, so a seed gives the same search on any cluster.
        n_jobs: trials evaluated at once (optuna's ``n_jobs``; with an executor, the
            batch size).
        progress: optuna's progress bar.

    Returns:
        An :class:`Optimization` with ``best_params``, ``best_value``, ``trials`` and
        the optuna ``study``.

    Raises:
        ConfigError: a space, objective, criterion or setting is not accepted.
        ImportError: optuna is not installed.
    """
    try:
        import optuna
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError('datadao.optimize needs optuna: pip install "./python[optimize]"') from e
    if (maximize is None) == (minimize is None):
        raise ConfigError(
            f"arguments maximize={maximize!r}, minimize={minimize!r}: accepted: exactly one of them, e.g. maximize=\"all_pass_rate\""
        )
    statistic = maximize if maximize is not None else minimize
    assert statistic is not None
    for name, value in (("trials", trials), ("n_jobs", n_jobs)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
            raise ConfigError(f"argument {name}={value!r}: accepted: a whole number from 1 to 100000")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ConfigError(f"argument seed={seed!r}: accepted: a whole number of at least 0")
    if sampler not in ("tpe", "cmaes", "random"):
        raise ConfigError(f"argument sampler={sampler!r}: accepted: \"tpe\", \"cmaes\" or \"random\"")
    if not isinstance(space, Mapping) or not space:
        raise ConfigError(f"argument space={space!r}: accepted: a dict of dotted key -> (low, high), (low, high, step) or a list of values")
    base = dict(settings or {})
    if seed is not None:
        base["simulation.seed"] = seed
    # Check the scenario, the criteria and the space's ends before the first trial.
    defaults = config(preset, base)

    def parse(key: str, spec: Any) -> Callable[[Any], Any]:
        integer = isinstance(defaults.get(key), int) and not isinstance(defaults.get(key), bool)
        if key not in defaults:
            raise ConfigError(f"invalid setting space[{key!r}]: unknown setting; `datadao config` lists every setting")
        if isinstance(spec, str) and ".." in spec:
            lo_text, _, rest = spec.partition("..")
            hi_text, _, step_text = rest.partition(":")
            try:
                spec = (float(lo_text), float(hi_text)) + ((float(step_text),) if step_text else ())
            except ValueError:
                raise ConfigError(
                    f"invalid setting space[{key!r}] = {spec!r}: accepted: \"LOW..HIGH\" or \"LOW..HIGH:STEP\" with numbers"
                ) from None
        if isinstance(spec, tuple) and len(spec) in (2, 3):
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in spec):
                raise ConfigError(f"invalid setting space[{key!r}] = {spec!r}: accepted: (low, high) or (low, high, step) of numbers")
            lo, hi = float(spec[0]), float(spec[1])
            if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
                raise ConfigError(f"invalid setting space[{key!r}] = {spec!r}: accepted: (low, high) with low < high, finite")
            step = float(spec[2]) if len(spec) == 3 else None
            if integer:
                return lambda t: t.suggest_int(key, int(round(lo)), int(round(hi)), step=int(step or 1))
            return lambda t: t.suggest_float(key, lo, hi, step=step)
        if isinstance(spec, (list, tuple)) and spec:
            choices = list(spec)
            return lambda t: t.suggest_categorical(key, choices)
        raise ConfigError(
            f"invalid setting space[{key!r}] = {spec!r}: accepted: (low, high), (low, high, step), \"LOW..HIGH[:STEP]\" or a list of values"
        )

    suggest = {key: parse(key, spec) for key, spec in space.items()}
    crit = _criteria(criteria)
    rows: List[Dict[str, Any]] = []

    def objective(trial: Any) -> float:
        params = {key: s(trial) for key, s in suggest.items()}
        result = sweep(
            grid={},
            runs=runs,
            preset=preset,
            settings={**base, **params},
            steps=steps,
            executor=executor,
            progress=False,
            criteria=crit,
        )
        value = _objective_of(result, statistic)
        row: Dict[str, Any] = {"trial": trial.number, **params, "objective": value}
        for column in result.points.columns:
            if column.endswith("_pass_rate"):
                row[column] = float(result.points[column].iloc[0])
        rows.append(row)
        return value

    if sampler == "tpe":
        chosen = optuna.samplers.TPESampler(seed=seed)
    elif sampler == "cmaes":
        chosen = optuna.samplers.CmaEsSampler(seed=seed)
    elif sampler == "random":
        chosen = optuna.samplers.RandomSampler(seed=seed)
    else:
        raise ConfigError(f"argument sampler={sampler!r}: accepted: \"tpe\", \"cmaes\" or \"random\"")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize" if maximize is not None else "minimize", sampler=chosen)
    if executor is None:
        study.optimize(objective, n_trials=trials, n_jobs=n_jobs, show_progress_bar=bool(progress))
    else:
        # Batches of n_jobs trials asked together, each trial's runs shipped to a worker,
        # told in trial order: the same seed gives the same search on any cluster.
        done = 0
        while done < trials:
            asked = [study.ask() for _ in range(min(n_jobs, trials - done))]
            params = [{key: s(t) for key, s in suggest.items()} for t in asked]
            futures = [
                executor.submit(
                    _optimize_trial,
                    dict(grid={}, runs=runs, preset=preset, settings={**base, **p}, steps=steps, progress=False, criteria=crit),
                    statistic,
                )
                for p in params
            ]
            for t, p, f in zip(asked, params, futures):
                value, rates = f.result()
                study.tell(t, value)
                rows.append({"trial": t.number, **p, "objective": value, **rates})
            done += len(asked)
    table = pd.DataFrame(sorted(rows, key=lambda r: r["trial"]))
    return Optimization(
        best_params=dict(study.best_params),
        best_value=float(study.best_value),
        trials=table,
        study=study,
    )
