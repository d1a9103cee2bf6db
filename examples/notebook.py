# %% [markdown]
# # datadao in a notebook
#
# A percent-format notebook (open it in Jupyter with jupytext, in VS Code or in
# Spyder, or run it as a script): run the economy, plot it, compare two presets.

# %%
import os
import sys

try:
    import matplotlib
except ImportError:  # the examples' packages are the package's [examples] extra
    sys.exit("this example needs matplotlib: pip install './python[examples]'")

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt

import datadao

STEPS = int(os.environ.get("EXAMPLE_STEPS", "2000"))

# %% [markdown]
# ## One run into a DataFrame

# %%
seed = datadao.run(steps=STEPS)
seed.steps[["step", "price", "lp_ddt_reserve", "lp_xdai_reserve", "pie_ddt"]].tail()

# %% [markdown]
# ## Compare two presets on the same axes

# %%
privacy = datadao.run(preset="privacy", steps=STEPS)
fig, axes = plt.subplots(1, 3, figsize=(15, 4))
# The second scenario is dashed, as in `datadao compare`, so coinciding curves stay
# visible; the legends sit outside the axes, so they never cover a curve.
for (name, r), style in zip([("seed", seed), ("privacy", privacy)], ["-", "--"]):
    axes[0].semilogy(r.steps["step"], r.steps["price"], label=name, linestyle=style)
    axes[1].plot(r.steps["step"], r.steps["pie_ddt"], label=name, linestyle=style)
    axes[2].plot(r.steps["step"], r.steps["allowed_share_commercial"], label=name, linestyle=style)
titles = ["Token price (xDAI per dDT)", "The Pie (dDT)", "Share of data allowing commercial use"]
units = ["xDAI per dDT", "dDT", "share of live weight"]
for ax, title, unit in zip(axes, titles, units):
    ax.set_title(title)
    ax.set_xlabel("step (day)")
    ax.set_ylabel(unit)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
fig.tight_layout()
fig.savefig(os.environ.get("EXAMPLE_FIGURE", "notebook.png"))

# %% [markdown]
# ## Agents by type, in the colours of every datadao figure

# %%
fig, ax = plt.subplots(figsize=(7, 4))
for kind, color in datadao.palette().items():
    ax.plot(seed.steps["step"], seed.steps[f"agents_{kind}"], label=kind, color=color)
ax.set_title("Agents by type")
ax.set_xlabel("step (day)")
ax.set_ylabel("agents")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
fig.tight_layout()
fig.savefig(os.environ.get("EXAMPLE_FIGURE", "notebook.png").replace(".png", "_agents.png"))

# %% [markdown]
# ## What differs, in numbers

# %%
for name, r in [("seed", seed), ("privacy", privacy)]:
    s = r.summary
    print(f"{name:8s} final price {s['final_price']:.3e}  Pie {s['pie_ddt']:.1f}  spent {s['pie_inflow_ddt']:.0f}")
