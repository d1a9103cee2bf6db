"""Type stubs for the Rust half of the datadao package (``datadao._native``).

Every argument is converted with a depth limit (``MAX_DEPTH`` levels of lists) and a
cycle check; anything that cannot be used raises :class:`ConfigError` naming the
argument. Long work runs on a thread of its own with the GIL released; the calling
thread looks for Ctrl-C every ``POLL_SECONDS`` and raises ``KeyboardInterrupt``.
"""

from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

MAX_DEPTH: int
POLL_SECONDS: float

class ConfigError(ValueError):
    """A setting, grid value or argument datadao cannot use; the message names it, the
    value, where it came from (``settings["KEY"]``, ``grid["KEY"]``, ``argument
    steps=``) and what is accepted."""

class ResourceError(MemoryError):
    """Work that does not fit: refused before it starts by the memory estimate (the
    message names the settings, the estimate and the limit), or an allocation the
    system refused during the work."""

class MergeError(RuntimeError):
    """An executor's results that are not one whole sweep (the checks of ``datadao
    merge``): a shard missing or given twice, a (point, run) missing or twice, a shard
    of another sweep, a result that is not a shard."""

Progress = Callable[[int], Any]
"""Called with the work done so far; an object with a ``start(total)`` method is told
the total first."""

def presets_list() -> List[Tuple[str, str]]:
    """The named presets as (name, one-line summary) pairs."""

def config(preset: Optional[str] = None, settings: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Every setting as a dict of dotted keys (plus ``preset`` when one was used)."""

def run(
    preset: Optional[str] = None,
    settings: Optional[Dict[str, Any]] = None,
    steps: Optional[int] = None,
    seed: Optional[int] = None,
    transactions: Optional[bool] = None,
    audit: Optional[bool] = None,
    progress: Optional[Progress] = None,
    policies: Optional[Dict[str, Callable[[Any], Any]]] = None,
) -> Dict[str, Any]:
    """Run a simulation (``policies``: a callable per type name, its behaviour); returns ``steps`` and ``transactions`` as column buffers
    (``names``, ``kinds``, ``data``, ``categories``), ``governance`` (a dict of column
    lists, or ``None`` when governance is off), ``config``, ``summary`` and ``flows``
    (one dict per band of the flow diagram: ``from``, ``to``, ``token``, ``amount``) and
    ``agents`` (``agents.csv`` as column buffers, or ``None`` for a run of no steps)."""

Grid = Union[Mapping[str, Union[Iterable[Any], str]], str, Sequence[str], None]

def sweep_shards(
    grid: Grid,
    runs: Optional[int] = None,
    preset: Optional[str] = None,
    settings: Optional[Dict[str, Any]] = None,
    steps: Optional[int] = None,
    zip: Optional[bool] = None,
    jobs: Optional[int] = None,
    shards: Optional[int] = None,
    criteria: Optional[List[Any]] = None,
) -> int:
    """How many shards an executor cuts the sweep into: ``shards`` (at least 1, at most
    one per point), by default one per point up to 256. Every point is resolved and
    checked (and the memory estimate made) first; nothing is run."""

def sweep_tables(
    grid: Grid,
    runs: int = 1,
    preset: Optional[str] = None,
    settings: Optional[Dict[str, Any]] = None,
    steps: Optional[int] = None,
    zip: Optional[bool] = None,
    jobs: Optional[int] = None,
    shard: Optional[Tuple[int, int]] = None,
    progress: Optional[Progress] = None,
    criteria: Optional[List[Any]] = None,
) -> Tuple[bytes, bytes, Optional[str], str]:
    """Run a sweep (or shard k of n); returns the CSV bytes of ``sweep_runs.csv`` and
    ``sweep_series.csv`` (exactly the CLI's tables), the shard's ``shard.toml`` (or
    ``None`` without a shard) and the effective ``sweep.toml``, which
    :func:`merge_shards` checks."""

def merge_shards(results: Iterable[Tuple[bytes, bytes, Optional[str], str]]) -> Tuple[bytes, bytes]:
    """Merge ``sweep_tables(..., shard=(k, n))`` results, in the order the shards were
    submitted, with every check of ``datadao merge``; raises :class:`MergeError`."""

def points_table(runs_csv: bytes, criteria: Optional[List[Any]] = None) -> bytes:
    """``sweep_points.csv`` of a sweep from its ``sweep_runs.csv``: per point, each KPI's
    mean, 5/50/95th percentiles and count over its runs, as ``datadao sweep`` writes it."""

def type_colors(own: List[str] = ...) -> List[Tuple[str, str]]:
    """Each agent type's colour as ``#rrggbb``, the palette of every datadao figure: the
    seed's five, then a scenario's own types in name order."""
