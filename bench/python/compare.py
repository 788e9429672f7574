#!/usr/bin/python3
"""isplitee against PyTorch on the same networks, thread counts and BLAS, run back to back.

Suites (BENCHMARKS.md shows the tables this prints):
  infer  multi-exit MobileNetV2 224 px (batch 1, 32), 32 px small-input (batch 1, 256) and the
         Fashion-MNIST ResNet (batch 256): isplitee's fast path with all exits and plain (final
         exit only), against PyTorch eager, eager channels-last and frozen TorchScript +
         torch.jit.optimize_for_inference, all with every exit computed (the same work).
  trace  the Fashion-MNIST ResNet, batch 256: all exits + per-sample softmax statistics.
  train  the Fashion-MNIST ResNet, batch 128: one joint training step (all exits, Σ CE, backward,
         Adam with three parameter groups).
  stages where the time goes: isplitee per stage/head and PyTorch's profiler on the frozen model.

Each measurement is the median time per batch over >= `--seconds` of runs after warm-up; the
variants of a case run one after another, and `--rounds` repeats the whole sequence, keeping each
variant's best round (on a shared machine that is the least disturbed one, for both sides alike).

  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/python/compare.py --bin build/bench/bench_compare \
      --suite infer --threads 1,2 --markdown
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before torch loads OpenBLAS

import argparse
import json
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model_reference import MultiExitMobileNetV2  # noqa: E402
from train_reference import MultiExitResNet, stats  # noqa: E402

INFER_CASES = [("mbv2", 224, 1), ("mbv2", 224, 32), ("mbv2", 32, 1), ("mbv2", 32, 256), ("fm", 28, 256)]
PY_INFER = ["eager", "eager_cl", "frozen"]


def build(net, size):
    torch.manual_seed(0)
    if net == "fm":
        return MultiExitResNet(14, 12, 1, 10), 1
    return MultiExitMobileNetV2(size), 3


def median_seconds(fn, seconds):
    """(median wall seconds, median process-CPU seconds) of fn()."""
    for _ in range(2):
        fn()
    wall, cpu, start = [], [], time.perf_counter()
    while len(wall) < 3 or (time.perf_counter() - start < seconds and len(wall) < 2000):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - t0)
    return statistics.median(wall), statistics.median(cpu)


def rates(batch, t):
    return {"images_per_s": batch / t[0], "images_per_cpu_s": batch / t[1]}


def prepared(net, size, batch, variant):
    """The module and input of one PyTorch inference variant (eval mode)."""
    m, ch = build(net, size)
    m.eval()
    x = torch.randn(batch, ch, size, size)
    if variant == "eager_cl":
        m = m.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    elif variant == "frozen":
        with torch.no_grad():
            m = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(m, x, strict=False)))
    return m, x


def py_infer(net, size, batch, variant, seconds, with_stats=False):
    m, x = prepared(net, size, batch, variant)
    with torch.inference_mode():
        if with_stats:
            return rates(batch, median_seconds(lambda: [stats(o) for o in m(x)], seconds))
        return rates(batch, median_seconds(lambda: m(x), seconds))


def py_train(batch, seconds, channels_last=False):
    torch.manual_seed(0)
    net = MultiExitResNet(14, 12, 1, 10)
    bb, ex, fin = net.groups()
    opt = torch.optim.Adam([{"params": bb, "lr": 2e-3}, {"params": ex, "lr": 4e-3}, {"params": fin, "lr": 2e-3}],
                           weight_decay=1e-4)
    x = torch.randn(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    w = [1.0] * 6  # isplitee's default exit weights for 6 exits are all 1
    net.train()

    def step():
        outs = net(x)
        loss = sum(wk * F.cross_entropy(o, y) for wk, o in zip(w, outs))
        opt.zero_grad()
        loss.backward()
        opt.step()

    return rates(batch, median_seconds(step, seconds))


def cpp(binary, net, size, batch, mode, threads, seconds):
    cmd = [binary, "--net", net, "--size", str(size), "--batch", str(batch), "--mode", mode,
           "--threads", str(threads), "--seconds", str(seconds)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_suite(a, threads):
    """{measure: {case: {variant: best rate over rounds}}} for one thread count; measures are
    images per wall second and images per process-CPU second."""
    torch.set_num_threads(threads)
    best = {"images_per_s": {}, "images_per_cpu_s": {}}

    def keep(case, variant, r):
        for measure, v in r.items():
            if measure not in best:
                continue
            row = best[measure].setdefault(case, {})
            row[variant] = max(v, row.get(variant, 0.0))
        print(f"  threads={threads} {case} {variant}: {r['images_per_s']:.1f} img/s, "
              f"{r['images_per_cpu_s']:.1f} img/cpu-s", file=sys.stderr, flush=True)

    for _ in range(a.rounds):
        if a.suite == "infer":
            for net, size, batch in INFER_CASES:
                case = f"{net} {size}px b{batch}"
                for mode in ("all", "plain"):
                    keep(case, f"isplitee_{mode}", cpp(a.bin, net, size, batch, mode, threads, a.seconds))
                for v in PY_INFER:
                    keep(case, v, py_infer(net, size, batch, v, a.seconds))
        elif a.suite == "trace":
            case = "fm 28px b256 trace"
            keep(case, "isplitee", cpp(a.bin, "fm", 28, 256, "trace", threads, a.seconds))
            for v in PY_INFER:
                keep(case, v, py_infer("fm", 28, 256, v, a.seconds, with_stats=True))
        elif a.suite == "train":
            case = "fm 28px b128 train"
            keep(case, "isplitee", cpp(a.bin, "fm", 28, 128, "train", threads, a.seconds))
            keep(case, "eager", py_train(128, a.seconds))
            keep(case, "eager_cl", py_train(128, a.seconds, channels_last=True))
    return best


def markdown(results, suite, measure):
    """One table: rows (threads, case), isplitee and PyTorch columns, ratio vs best PyTorch."""
    lines = []
    if suite == "infer":
        cols = [("isplitee_all", "isplitee all exits"), ("isplitee_plain", "isplitee plain"),
                ("eager", "PyTorch eager"), ("eager_cl", "eager channels-last"),
                ("frozen", "frozen + optimize_for_inference")]
        mine, py = "isplitee_all", PY_INFER
    else:
        py = PY_INFER if suite == "trace" else ["eager", "eager_cl"]
        cols = [("isplitee", "isplitee")] + [(p, f"PyTorch {p}") for p in py]
        mine = "isplitee"
    lines.append("| threads | case | " + " | ".join(c[1] for c in cols) + " | ratio vs best PyTorch |")
    lines.append("|---|---|" + "---:|" * (len(cols) + 1))
    for threads, res in results.items():
        for case, v in res[measure].items():
            best_py = max(v[p] for p in py)
            lines.append(f"| {threads} | {case} | " + " | ".join(f"{v[c[0]]:.1f}" for c in cols) +
                         f" | **{v[mine] / best_py:.2f}×** |")
    return "\n".join(lines)


def stages(a, threads):
    """isplitee's per-stage times and PyTorch's own profile of the frozen model, per case."""
    torch.set_num_threads(threads)
    for net, size, batch in INFER_CASES:
        r = cpp(a.bin, net, size, batch, "stages", threads, a.seconds)
        print(f"\n### {net} {size}px batch {batch}, {threads} thread(s): isplitee ({r['engine']})")
        print("| exit | blocks | stage ms | head ms | stage GMAC/s |")
        print("|---|---:|---:|---:|---:|")
        for s in r["stages"]:
            print(f"| {s['exit']} | {s['blocks']} | {s['stage_ms']:.3f} | {s['head_ms']:.3f} | "
                  f"{s['stage_mmacs'] / s['stage_ms']:.1f} |")
        m, x = prepared(net, size, batch, "frozen")
        with torch.inference_mode():
            for _ in range(3):
                m(x)
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
                for _ in range(5):
                    m(x)
        print(f"\nPyTorch frozen + optimize_for_inference, top operators (5 runs, {threads} thread(s)):\n")
        print("```")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=8))
        print("```")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/bench/bench_compare", help="the bench_compare binary")
    ap.add_argument("--suite", choices=["infer", "trace", "train", "stages"], default="infer")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--seconds", type=float, default=2.0, help="minimum timed seconds per measurement")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--cases", help="infer/stages: a subset, e.g. mbv2:224:1,fm:28:256")
    a = ap.parse_args()
    thread_list = [int(t) for t in a.threads.split(",")]
    if a.cases:
        global INFER_CASES
        INFER_CASES = [(n, int(s), int(b)) for n, s, b in (c.split(":") for c in a.cases.split(","))]
    print(f"torch {torch.__version__}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
          f"load average {os.getloadavg()[0]:.2f} at start", flush=True)
    if a.suite == "stages":
        for t in thread_list:
            stages(a, t)
        return
    results = {t: run_suite(a, t) for t in thread_list}
    print(f"load average {os.getloadavg()[0]:.2f} at end\n")
    print("images per second (wall time):\n")
    print(markdown(results, a.suite, "images_per_s"))
    print("\nimages per CPU second (process CPU time, all threads):\n")
    print(markdown(results, a.suite, "images_per_cpu_s"))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({str(t): r for t, r in results.items()}, f, indent=1)


if __name__ == "__main__":
    main()
