"""A policy that keeps state: a trader that learns the price's trend.

``datadao.run(agents={"trader": {..., "policy": trader}})`` calls ``trader(o)`` on each
trader's turn. Any callable works, so the policy can be an object that remembers across
calls: here a moving average of the price, which it buys below and sells above. The
same pattern holds a learning rule, a model, or an LLM-driven agent (keep such calls
rare: every call is on the simulation's path).

Run: ``python examples/stateful_policy.py`` (``EXAMPLE_STEPS``, default 2000).
"""

from __future__ import annotations

import math
import os
from typing import Any, List, Tuple

import datadao


class TrendTrader:
    """Buys 5 dDT when the price is below its moving average, sells 5 above it."""

    def __init__(self, window: int = 30) -> None:
        self.window = window
        self.average = math.nan
        self.calls = 0

    def __call__(self, o: Any) -> List[Tuple[str, float]]:
        self.calls += 1
        price = o.price
        if math.isnan(price):
            return []
        if math.isnan(self.average):
            self.average = price
        self.average += (price - self.average) / self.window
        if price < self.average and o.xdai > 0:
            return [("buy", 5.0)]
        if price > self.average and o.ddt >= 5:
            return [("sell", 5.0)]
        return []


def main(steps: int = 2000) -> Tuple[TrendTrader, datadao.Result]:
    """Run the seed with 5% trend traders; return the trader and the result."""
    trader = TrendTrader()
    result = datadao.run(
        steps=steps,
        audit=True,
        agents={"trader": {"share": 0.05, "initial_ddt": 20, "initial_xdai": 0.01, "policy": trader}},
    )
    return trader, result


if __name__ == "__main__":
    t, r = main(int(os.environ.get("EXAMPLE_STEPS", "2000")))
    last = r.steps.iloc[-1]
    print(f"{t.calls} calls; traders at the end: {int(last['agents_trader'])}, "
          f"mean dDT {last['avg_ddt_trader']:.3f}, mean xDAI {last['avg_xdai_trader']:.6f}")
