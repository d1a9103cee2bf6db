"""What a Python policy costs per call: the default run with 10% bots, their behaviour
once as rules and once as the same one-line policy, best of three each; the difference
over the number of calls (one per bot per step).

Run: ``python python/benches/policy_cost.py`` (with the package installed).
"""

import time

import datadao

RULES = [{"when": "ddt > 5", "do": "sell", "amount": 1}]


def policy(o):
    """The rules above, as Python."""
    return [("sell", 1)] if o.ddt > 5 else []


def main() -> None:
    """Print the calls, both timings and the cost per call."""
    bot = {"share": 0.1, "initial_ddt": 10}
    best = {}
    result = None
    for _ in range(3):
        for kind, behaviour in [("rules", RULES), ("policy", policy)]:
            started = time.perf_counter()
            result = datadao.run(agents={"bot": {**bot, kind: behaviour}})
            elapsed = time.perf_counter() - started
            best[kind] = min(best.get(kind, elapsed), elapsed)
    calls = int(result.steps["agents_bot"].sum())
    per_call = (best["policy"] - best["rules"]) / calls
    print(f"{calls} calls; rules {best['rules']:.2f} s, policy {best['policy']:.2f} s; {per_call * 1e6:.1f} us a call")


if __name__ == "__main__":
    main()
