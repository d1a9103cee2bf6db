"""When does Pie farming stop paying? The ``pie-farming`` preset swept.

Farmers (see ``presets/pie-farming.toml``) buy 10 dDT a step with xDAI, spend it on a
compute job over their own data, and sell every Pie share they get for it. Farming pays
when a farmer ends with more xDAI than the 1 xDAI it brought. This sweeps the outside
reward budget (``pie.subsidy_per_step``), the swap fee (``market.fee_rate``) and the
share of The Pie paid out (``pie.distribution_rate``), and reports each point's mean
farmer profit, ``final_avg_xdai_farmer - 1``.

Run: ``python examples/pie_farming.py`` (``EXAMPLE_STEPS`` sets the steps, default 2000;
``EXAMPLE_RUNS`` the runs per point, default 2). Writes ``pie_farming.png``: profit
against the subsidy, one line per fee, one panel per distribution rate.
"""

from __future__ import annotations

import os
import sys

try:
    import matplotlib
except ImportError:  # the examples' packages are the package's [examples] extra
    sys.exit("this example needs matplotlib: pip install './python[examples]'")

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

import datadao  # noqa: E402

SUBSIDIES = [0.0, 5.0, 10.0, 25.0, 50.0]
FEES = [0.003, 0.01, 0.03, 0.1]
RATES = [0.3, 0.5, 0.7, 0.9]


def main(steps: int = 2000, runs: int = 2, figure: str = "pie_farming.png") -> pd.DataFrame:
    """Sweep the preset; return one row per point with the farmers' mean profit."""
    sweep = datadao.sweep(
        {
            "pie.subsidy_per_step": SUBSIDIES,
            "market.fee_rate": FEES,
            "pie.distribution_rate": RATES,
        },
        runs=runs,
        preset="pie-farming",
        steps=steps,
    )
    axes = ["pie.subsidy_per_step", "market.fee_rate", "pie.distribution_rate"]
    table = sweep.points[axes].copy()
    table["farmer_profit_xdai"] = sweep.points["final_avg_xdai_farmer_mean"] - 1.0
    palette = list(datadao.palette().values())
    fig, axes = plt.subplots(1, len(RATES), figsize=(16, 4.5), sharey=True)
    for ax, rate in zip(axes, RATES):
        at_rate = table[table["pie.distribution_rate"] == rate]
        for colour, fee in zip(palette, FEES):
            line = at_rate[at_rate["market.fee_rate"] == fee]
            ax.plot(line["pie.subsidy_per_step"], line["farmer_profit_xdai"], "o-", color=colour, label=f"fee {fee}")
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_title(f"distribution rate {rate}")
        ax.set_xlabel("pie.subsidy_per_step (dDT)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("farmer's profit (xDAI, mean of runs)")
    axes[0].legend()
    fig.suptitle(f"Pie farming pays above the line: {steps} steps, {runs} runs per point")
    fig.tight_layout()
    fig.savefig(figure, dpi=100)
    return table


if __name__ == "__main__":
    result = main(
        steps=int(os.environ.get("EXAMPLE_STEPS", "2000")),
        runs=int(os.environ.get("EXAMPLE_RUNS", "2")),
    )
    pays = result[result["farmer_profit_xdai"] > 0]
    print(result.to_string(index=False))
    print(f"farming pays at {len(pays)} of {len(result)} points")
