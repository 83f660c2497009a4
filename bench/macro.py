"""Macro benchmark: `policysim bench` over N = 10^4 .. 10^8 and 1 and 2 threads, without and
with a Watts-Strogatz network, beside the NumPy reference step (bench/reference_step.py).

    /usr/bin/python3 bench/macro.py [--binary build/engine/policysim] [--max-consumers 1e8] [--repeat 3]

Writes bench/results/<machine>.csv (one row per configuration) and prints it as a table. Each
run is its own process (so peak memory is its own): one untimed warm-up step, then the median
of the timed steps. On a shared machine single runs vary by tens of percent, so every
configuration up to 10^7 consumers runs --repeat times, in rounds over all configurations (a
slow spell then touches each of them alike), and its row is the run with the median time
(`runs` says how many). The NumPy reference runs up to --numpy-max consumers; the numpy_ratio
column is NumPy's time per decision over policysim's. The output_cost row gives in
output_ratio the time per step with the CSV outputs written over the time without them, and
the thread_speedup row in speedup the time per step on one thread over the time on two (10^6
consumers). The load on a shared machine drifts between independent runs, so the output cost
is the median over pairs of runs, the two run back to back (at least five pairs), and the
speedup pairs single steps inside one run (`policysim bench --speedup`: each step on two
threads beside one on one thread, in alternating order), its row the median of at least five
such runs.
"""
import statistics
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


def run_bench(binary, consumers, threads, network, steps, output=None, speedup=False):
    cmd = [binary, "bench", "--consumers", str(consumers), "--steps", str(steps),
           "--threads", str(threads), "--network", network] + (["--speedup"] if speedup else [])
    if output:
        cmd += ["--output", output]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
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
    pairs = max(5, args.repeat)

    def paired(base, other):
        """Median over back-to-back pairs of other's step time over base's, and other's times."""
        times, ratios = [], []
        for _ in range(pairs):
            b, o = base(), other()
            times.append(o)
            ratios.append(o / b)
        return statistics.median(ratios), statistics.median(times)

    def step_seconds(n, threads, steps, output=None):
        return float(run_bench(args.binary, n, threads, "none", steps, output=output)["step_seconds"])

    def with_output(n):
        with tempfile.TemporaryDirectory() as tmp:
            return step_seconds(n, 2, 10, output=tmp)

    # cost of writing outputs at 10^7 consumers (or the largest size run)
    n = min(10**7, sizes[-1])
    print(f"bench: output cost N={n}, {pairs} pairs", file=sys.stderr, flush=True)
    ratio, on = paired(lambda: step_seconds(n, 2, 10), lambda: with_output(n))
    rows.append({
        "machine": machine, "date": datetime.date.today().isoformat(), "kind": "output_cost",
        "consumers": n, "threads": 2, "network": "none", "steps": 10, "runs": pairs,
        "step_seconds": f"{on:.6f}", "output_ratio": f"{ratio:.4f}",
    })
    # 1 to 2 threads at 10^6 consumers (or the largest size run): the step time on one thread
    # over the time on two, in pairs of steps, as independent medians drift with the load
    n = min(10**6, sizes[-1])
    print(f"bench: thread speedup N={n}, {pairs} runs", file=sys.stderr, flush=True)
    steps = max(3, min(50, int(3e7 // n)))
    done = sorted((run_bench(args.binary, n, 2, "none", steps, speedup=True) for _ in range(pairs)),
                  key=lambda r: float(r["speedup"]))
    speedup = float(done[(len(done) - 1) // 2]["speedup"])
    one = statistics.median(float(r["one_thread_step_seconds"]) for r in done)
    rows.append({
        "machine": machine, "date": datetime.date.today().isoformat(), "kind": "thread_speedup",
        "consumers": n, "threads": 1, "network": "none", "steps": steps, "runs": pairs,
        "step_seconds": f"{one:.6f}", "speedup": f"{speedup:.3f}",
    })
    fields = ["machine", "date", "kind", "consumers", "threads", "network", "steps", "runs", "ns_per_decision",
              "decisions_per_second", "state_bytes_per_consumer", "peak_rss_bytes_per_consumer", "setup_seconds",
              "step_seconds", "numpy_ns_per_decision", "numpy_ratio", "output_ratio", "speedup"]
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        w.writeheader()
        w.writerows(rows)
    print(f"macro: wrote {out} ({platform.node()})", file=sys.stderr)
    for row in rows:
        print(",".join(str(row.get(k, "")) for k in fields))


if __name__ == "__main__":
    main()
