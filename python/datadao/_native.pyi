"""Type stubs for the Rust half of the datadao package (``datadao._native``)."""

from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

STEPS_PER_CHUNK: int

class ConfigError(ValueError):
    """A setting datadao cannot use; the message names the setting, the value, where it
    came from and what is accepted."""

def presets_list() -> List[Tuple[str, str]]:
    """The named presets as (name, one-line summary) pairs."""

def config(preset: Optional[str] = None, settings: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Every setting as a dict of dotted keys (plus ``preset`` when one was used)."""

def run(
    preset: Optional[str] = None,
    settings: Optional[Dict[str, Any]] = None,
    steps: Optional[int] = None,
    seed: Optional[int] = None,
    transactions: bool = False,
    audit: bool = False,
    progress: Optional[Callable[[int], Any]] = None,
) -> Dict[str, Any]:
    """Run a simulation; returns ``steps`` and ``transactions`` as column buffers
    (``names``, ``kinds``, ``data``, ``categories``), ``governance`` (a dict of column
    lists, or ``None`` when governance is off), ``config`` and ``summary``."""

def sweep_tables(
    grid: Mapping[str, Any],
    runs: int = 1,
    preset: Optional[str] = None,
    settings: Optional[Dict[str, Any]] = None,
    steps: Optional[int] = None,
    zip: bool = False,
    jobs: Optional[int] = None,
    shard: Optional[Tuple[int, int]] = None,
    progress: Optional[Callable[[int], Any]] = None,
) -> Tuple[bytes, bytes]:
    """Run a sweep (or shard k of n); returns the CSV bytes of ``sweep_runs.csv`` and
    ``sweep_series.csv``, exactly the CLI's tables."""
