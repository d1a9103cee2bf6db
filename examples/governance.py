"""Who captures the Pie? The four vote-weight rules side by side.

Runs the ``governed`` preset (a proposal a month, members voting with foresight) once
per ``governance.weight`` rule -- ``person`` (one member one vote, what Circles' sybil
resistance makes possible), ``quadratic`` (square root of dDT held), ``ddt`` (token
voting) and ``crc_locked`` -- and reports, for each, the proposals passed, the Pie
shares the members ended with, what a power user holds, and the final price. Then it
lists the ``set`` proposals on the power users' share under one person one vote and
under token voting, from each run's ``governance`` table (``governance.csv``).

Run: ``python examples/governance.py`` (``EXAMPLE_STEPS`` sets the steps, default 2000).
Writes ``governance.png`` (the power share over time under each rule).
"""

from __future__ import annotations

import os
import sys
from typing import Dict

try:
    import matplotlib
except ImportError:  # the examples' packages are the package's [examples] extra
    sys.exit("this example needs matplotlib: pip install './python[examples]'")

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

import datadao  # noqa: E402

RULES = ["person", "quadratic", "ddt", "crc_locked"]


def main(steps: int = 2000, figure: str = "governance.png") -> pd.DataFrame:
    """Run the governed preset under every weight rule; return one row per rule."""
    runs: Dict[str, datadao.Result] = {
        rule: datadao.run(preset="governed", steps=steps, settings={"governance.weight": rule}, audit=True)
        for rule in RULES
    }
    rows = []
    for rule, r in runs.items():
        last = r.steps.iloc[-1]
        rows.append(
            {
                "weight": rule,
                "proposals": int(last["proposals"]),
                "passed": int(last["proposals_passed"]),
                "share_power": last["pie_share_power"],
                "share_active": last["pie_share_active"],
                "share_casual": last["pie_share_casual"],
                "mean_ddt_power": last["avg_ddt_power"],
                "final_price": last["price"],
            }
        )
    table = pd.DataFrame(rows).set_index("weight")

    fig, ax = plt.subplots(figsize=(9, 4.5))
    # Rules that end alike draw on top of each other: dashes keep both visible.
    styles = {"person": "-", "quadratic": "-", "ddt": (0, (6, 4)), "crc_locked": (0, (6, 4))}
    widths = {"person": 3.5, "quadratic": 3.5, "ddt": 1.8, "crc_locked": 1.8}
    for rule, r in runs.items():
        ax.step(
            r.steps["step"], r.steps["pie_share_power"], where="post", label=rule,
            linestyle=styles[rule], linewidth=widths[rule],
        )
    ax.set_xlabel("step (day)")
    ax.set_ylabel("power users' share of each payout")
    ax.set_title("The power share under each vote-weight rule (governed preset)")
    # Outside the axes, so the legend never covers a curve.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    fig.savefig(figure, dpi=120)
    plt.close(fig)

    for rule in ["person", "ddt"]:
        gov = runs[rule].governance
        assert gov is not None
        power = gov[gov["setting"] == "pie.shares.power"]
        print(f"\npie.shares.power proposals under '{rule}':")
        print(power[["step", "old_value", "new_value", "yes", "no", "passed"]].to_string(index=False))
    return table


if __name__ == "__main__":
    result = main(steps=int(os.environ.get("EXAMPLE_STEPS", "2000")), figure=os.environ.get("EXAMPLE_FIGURE", "governance.png"))
    print()
    print(result.to_string())
    sys.exit(0)
