"""Overview plot of a policysim run: python3 scripts/plot.py RUN_DIR [--out FILE.png].

Reads metrics.csv, sectors.csv and services.csv (or, for a run with replications, those of
every rep-NNN/ and draws their mean with a min-max band) and writes RUN_DIR/overview.png.
Needs matplotlib and pandas (Debian: python3-matplotlib python3-pandas; /usr/bin/python3).
"""
import argparse
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def load(run: pathlib.Path, name: str) -> pd.DataFrame:
    if (run / name).exists():
        frame = pd.read_csv(run / name)
        frame["replication"] = 1
        return frame
    reps = sorted(run.glob("rep-*/" + name))
    if not reps:
        sys.exit(f"plot: no {name} in {run} (is it a policysim run directory?)")
    return pd.concat(
        [pd.read_csv(p).assign(replication=int(p.parent.name[4:])) for p in reps], ignore_index=True
    )


def band(ax, frame, x, y, label=None):
    g = frame.groupby(x)[y]
    mean = g.mean()
    line = ax.plot(mean.index, mean.values, label=label)[0]
    if frame["replication"].nunique() > 1:
        ax.fill_between(mean.index, g.min().values, g.max().values, alpha=0.2, color=line.get_color())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=pathlib.Path)
    ap.add_argument("--out", type=pathlib.Path)
    args = ap.parse_args()
    metrics = load(args.run, "metrics.csv")
    sectors = load(args.run, "sectors.csv")
    services = load(args.run, "services.csv")

    fig, axes = plt.subplots(2, 3, figsize=(15, 8), constrained_layout=True)
    ax = axes[0, 0]
    for s, frame in sectors.groupby("sector"):
        band(ax, frame, "step", "hhi", s)
    ax.set_title("Concentration (HHI) by sector")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    for s, frame in services.groupby("service"):
        band(ax, frame, "step", "sector_share", s)
    ax.set_title("Sector share of each service")
    ax.legend(fontsize=7, ncol=2)
    ax = axes[0, 2]
    band(ax, metrics, "step", "mean_cs", "consumer surplus")
    ax.set_title("Mean consumer surplus")
    ax = axes[1, 0]
    band(ax, metrics, "step", "consent_rate", "consent rate")
    band(ax, metrics, "step", "mean_trust", "mean trust")
    ax.set_ylim(0, 1.05)
    ax.set_title("Consent and trust")
    ax.legend(fontsize=8)
    ax = axes[1, 1]
    band(ax, metrics, "step", "privacy_harm", "privacy harm")
    band(ax, metrics, "step", "control_index", "state control index")
    ax.set_title("Privacy harm and state control of data")
    ax.legend(fontsize=8)
    ax = axes[1, 2]
    band(ax, metrics, "step", "total_data", "platform data")
    band(ax, metrics, "step", "jv_data", "JV pool")
    band(ax, metrics, "step", "innovation_capital", "innovation capital")
    ax.set_title("Data and innovation (per capita)")
    ax.legend(fontsize=8)
    for a in axes.flat:
        a.set_xlabel("step")
        a.grid(alpha=0.3)
    out = args.out or args.run / "overview.png"
    fig.suptitle(f"policysim: {args.run.name}")
    fig.savefig(out, dpi=90)
    print(f"plot: wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
