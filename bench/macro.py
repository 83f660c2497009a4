"""Macro benchmark: `policysim bench` over N = 10^4 .. 10^8 and 1 and 2 threads, without and
with a Watts-Strogatz network, beside the NumPy reference step (bench/reference_step.py).

    /usr/bin/python3 bench/macro.py [--binary build/engine/policysim] [--max-consumers 1e8] [--repeat 3]

Writes bench/results/<machine>.csv (one row per configuration) and prints it as a table. Each
run is its own process (so peak memory is its own): one untimed warm-up step, then the median
of the timed steps. On a shared machine single runs vary by tens of percent, so every
configuration up to 10^7 consumers runs --repeat times, in rounds over all configurations (a
slow spell then touches each of them alike), and its row is the run with the median time
(`runs` says how many). The NumPy reference runs up to --numpy-max consumers; the numpy_ratio
column is NumPy's time per decision over policysim's.

Two rows compare times that the load on a shared machine would drown between independent runs
(it drifts by tens of percent within minutes), so each is measured inside one run, step by
step, and is the median of at least five such runs. The output_cost row (10^7 consumers):
output_ratio, each step's time with its CSV rows written over its time without them (the
writing timed apart; output_seconds, its median time per step). The thread_speedup row (10^6
consumers): speedup, the time of a step on one thread over that of a step on two, the two
taken back to back in alternating order (`policysim bench --speedup`); step_seconds is the
single-thread step's.
"""
import argparse
import csv
import datetime
import os
import pathlib
import platform
import re
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent


def machine_name() -> str:
    model = "unknown-cpu"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    slug = re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-")
    return f"{slug}-{os.cpu_count()}c"


def parse(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            out[parts[0]] = parts[1]
    return out


def run_bench(binary, consumers, threads, network, steps, output=False, speedup=False):
    """One `policysim bench` run, its fields; with output, the CSVs go to a temporary directory."""
    cmd = [binary, "bench", "--consumers", str(consumers), "--steps", str(steps),
           "--threads", str(threads), "--network", network] + (["--speedup"] if speedup else [])
    with tempfile.TemporaryDirectory() as tmp:
        res = subprocess.run(cmd + (["--output", tmp] if output else []), capture_output=True, text=True, check=True)
    return parse(res.stdout)


def run_numpy(consumers, steps):
    res = subprocess.run(["/usr/bin/python3", str(HERE / "reference_step.py"), "--consumers", str(consumers),
                          "--steps", str(steps)], capture_output=True, text=True, check=True)
    return parse(res.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=str(HERE.parent / "build" / "engine" / "policysim"))
    ap.add_argument("--max-consumers", type=float, default=1e8)
    ap.add_argument("--numpy-max", type=float, default=1e7)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each configuration up to 10^7 consumers")
    ap.add_argument("--out", type=pathlib.Path)
    args = ap.parse_args()
    sizes = [n for n in (10**4, 10**5, 10**6, 10**7, 10**8) if n <= args.max_consumers]
    machine = machine_name()
    out = args.out or HERE / "results" / f"{machine}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    configs = [(network, n, threads) for network in ("none", "watts_strogatz") for n in sizes for threads in (1, 2)]
    runs = {c: [] for c in configs}
    for round_ in range(max(1, args.repeat)):
        for network, n, threads in configs:
            if round_ > 0 and n > 10**7:
                continue
            steps = max(3, min(50, int(3e7 // n)))
            print(f"bench: round {round_ + 1} N={n} threads={threads} network={network}", file=sys.stderr, flush=True)
            runs[(network, n, threads)].append(run_bench(args.binary, n, threads, network, steps))
    rows = []
    numpy_cache = {}
    for network, n, threads in configs:
        done = sorted(runs[(network, n, threads)], key=lambda r: float(r["ns_per_decision"]))
        r = done[(len(done) - 1) // 2]  # the median run (the lower one of an even count)
        row = {
            "machine": machine, "date": datetime.date.today().isoformat(), "kind": "step",
            "consumers": n, "threads": threads, "network": network, "steps": r["steps"], "runs": len(done),
            "ns_per_decision": r["ns_per_decision"], "decisions_per_second": r["decisions_per_second"],
            "state_bytes_per_consumer": r["state_bytes_per_consumer"],
            "peak_rss_bytes_per_consumer": r["peak_rss_bytes_per_consumer"],
            "setup_seconds": r["setup_seconds"], "step_seconds": r["step_seconds"],
            "numpy_ns_per_decision": "", "numpy_ratio": "",
        }
        if network == "none" and n <= args.numpy_max:
            if n not in numpy_cache:
                numpy_cache[n] = run_numpy(n, max(3, min(20, int(1e7 // n))))
            ref = float(numpy_cache[n]["ns_per_decision"])
            row["numpy_ns_per_decision"] = f"{ref:.3f}"
            row["numpy_ratio"] = f"{ref / float(r['ns_per_decision']):.1f}"
        rows.append(row)
    runs_each = max(5, args.repeat)

    def median_run(key, **options):
        """The run with the median `key` of runs_each runs of `policysim bench` with options."""
        done = sorted((run_bench(args.binary, **options) for _ in range(runs_each)), key=lambda r: float(r[key]))
        return done[(len(done) - 1) // 2]

    # cost of writing outputs at 10^7 consumers (or the largest size run): each step's time with
    # its rows over its time without them (the writing timed apart inside the step)
    n = min(10**7, sizes[-1])
    print(f"bench: output cost N={n}, {runs_each} runs", file=sys.stderr, flush=True)
    r = median_run("output_ratio", consumers=n, threads=2, network="none", steps=10, output=True)
    rows.append({
        "machine": machine, "date": datetime.date.today().isoformat(), "kind": "output_cost",
        "consumers": n, "threads": 2, "network": "none", "steps": 10, "runs": runs_each,
        "step_seconds": r["step_seconds"], "output_seconds": r["output_seconds"], "output_ratio": r["output_ratio"],
    })
    # 1 to 2 threads at 10^6 consumers (or the largest size run): the step time on one thread
    # over the time on two, in pairs of steps, as independent medians drift with the load
    n = min(10**6, sizes[-1])
    print(f"bench: thread speedup N={n}, {runs_each} runs", file=sys.stderr, flush=True)
    steps = max(3, min(50, int(3e7 // n)))
    r = median_run("speedup", consumers=n, threads=2, network="none", steps=steps, speedup=True)
    rows.append({
        "machine": machine, "date": datetime.date.today().isoformat(), "kind": "thread_speedup",
        "consumers": n, "threads": 1, "network": "none", "steps": steps, "runs": runs_each,
        "step_seconds": r["one_thread_step_seconds"], "speedup": r["speedup"],
    })
    fields = ["machine", "date", "kind", "consumers", "threads", "network", "steps", "runs", "ns_per_decision",
              "decisions_per_second", "state_bytes_per_consumer", "peak_rss_bytes_per_consumer", "setup_seconds",
              "step_seconds", "numpy_ns_per_decision", "numpy_ratio", "output_seconds", "output_ratio", "speedup"]
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        w.writeheader()
        w.writerows(rows)
    print(f"macro: wrote {out} ({platform.node()})", file=sys.stderr)
    for row in rows:
        print(",".join(str(row.get(k, "")) for k in fields))


if __name__ == "__main__":
    main()
