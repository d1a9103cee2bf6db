"""Global sensitivity of the final price and the Pie to four levers, with SALib.

Sobol indices (Saltelli sampling) of two outcomes of the datadao economy:
``log10(final price)`` and ``log10(the Pie's final balance)`` (both span orders of
magnitude across the box, and Sobol estimates on such skewed outputs are unstable),
over

- ``market.fee_rate`` (swap fee kept by liquidity providers),
- ``pie.distribution_rate`` (share of the Pie paid out each step),
- ``minting.mint_per_weight`` (the mint cap per unit of Contribution Weight),
- ``simulation.entry_steps`` (agents join every this many steps: the entry rate).

Every sample is a full agent-based run through ``datadao.run`` (the Rust core), so a
few hundred runs take seconds. SALib computes the indices; nothing here is a home-made
estimator. Run: ``python examples/sensitivity.py`` (``EXAMPLE_SOBOL_N`` sets the base
sample size, default 256: 1,536 runs; ``EXAMPLE_STEPS`` the steps per run, default
500).
Writes ``sensitivity.png`` and prints the first-order and total indices.
"""

from __future__ import annotations

import os
import sys

try:
    import matplotlib
    import SALib  # noqa: F401
except ImportError:  # the examples' packages are the package's [examples] extra
    sys.exit("this example needs matplotlib and SALib: pip install './python[examples]'")

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from SALib.analyze import sobol  # noqa: E402
from SALib.sample import sobol as sobol_sample  # noqa: E402

import datadao  # noqa: E402

PROBLEM = {
    "num_vars": 4,
    "names": [
        "market.fee_rate",
        "pie.distribution_rate",
        "minting.mint_per_weight",
        "simulation.entry_steps",
    ],
    "bounds": [[0.0, 0.1], [0.1, 0.95], [0.25, 1.0], [1.0, 20.0]],
}


def outcomes(sample: np.ndarray, steps: int, seeds: int) -> np.ndarray:
    """Run the economy at each sample point: columns log10(final price), log10(final Pie),
    each the mean over `seeds` seeds (`scarce-data` draws its data, so one seed alone
    would mix the settings' effect with that seed's luck)."""
    out = np.empty((len(sample), 2))
    for i, (fee, dist, mint, entry) in enumerate(sample):
        runs = [
            datadao.run(
                preset="scarce-data",
                steps=steps,
                seed=seed,
                settings={
                    "market.fee_rate": float(fee),
                    "pie.distribution_rate": float(dist),
                    "minting.mint_per_weight": float(mint),
                    "simulation.entry_steps": int(round(entry)),
                },
                transactions=False,
                progress=False,
            )
            for seed in range(1, seeds + 1)
        ]
        out[i] = (
            np.mean([np.log10(r.summary["final_price"]) for r in runs]),
            np.mean([np.log10(r.summary["pie_ddt"]) for r in runs]),
        )
    return out


def main(n: int, steps: int, figure: str, seeds: int = 5) -> dict:
    """Sample, run (`seeds` seeds per point), analyse and plot; returns the two SALib
    result dicts."""
    sample = sobol_sample.sample(PROBLEM, n, calc_second_order=False, seed=42)
    y = outcomes(sample, steps, seeds)
    results = {}
    for j, label in enumerate(["log10 final price", "log10 final Pie"]):
        results[label] = sobol.analyze(PROBLEM, y[:, j], calc_second_order=False, seed=42)
        print(f"\n{label}: {len(sample)} points x {seeds} seeds of {steps} steps")
        for name, s1, st in zip(PROBLEM["names"], results[label]["S1"], results[label]["ST"]):
            print(f"  {name:28s} first-order {s1:6.3f}   total {st:6.3f}")
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    x = np.arange(PROBLEM["num_vars"])
    for ax, (label, res) in zip(axes, results.items()):
        ax.bar(x - 0.2, res["S1"], 0.4, yerr=res["S1_conf"], label="first-order S1")
        ax.bar(x + 0.2, res["ST"], 0.4, yerr=res["ST_conf"], label="total ST")
        ax.set_xticks(x, [n.split(".")[-1] for n in PROBLEM["names"]], rotation=15)
        ax.set_title(f"Sobol indices of {label}")
        ax.set_ylabel("Sobol index (share of variance)")
        # Below the axes, so the legend never covers a bar.
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    fig.tight_layout()
    fig.savefig(figure, dpi=110)
    print(f"\nwrote {figure}")
    return results


if __name__ == "__main__":
    main(
        n=int(os.environ.get("EXAMPLE_SOBOL_N", "256")),
        steps=int(os.environ.get("EXAMPLE_STEPS", "500")),
        seeds=int(os.environ.get("EXAMPLE_SEEDS", "5")),
        figure=sys.argv[1] if len(sys.argv) > 1 else "sensitivity.png",
    )
