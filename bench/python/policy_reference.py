#!/usr/bin/env python3
"""Straightforward Python implementation of the I-SplitEE replay loop (docs/method.md §2-5), for the speed
comparison and parity check of bench/bench_policy.cpp.

    build-core/bench/bench_policy --write-trace=/tmp/isp_trace --steps=1000000   # trace + C++ checksum
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/python/policy_reference.py /tmp/isp_trace --steps 1000000

Same trace, same in-order stream (sample t mod N), default constants (alpha 0.5, lambda 0.1, mu 1,
o 0.5, beta 1, side_info oracle). Prints the same checksum line as the C++ side plus decisions/s.
"""
import argparse
import json
import math
import sys
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace_dir")
    ap.add_argument("--steps", type=int, default=100000)
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--lam", type=float, default=0.1)
    ap.add_argument("--mu", type=float, default=1.0)
    ap.add_argument("--offload", type=float, default=0.5)
    ap.add_argument("--beta", type=float, default=1.0)
    a = ap.parse_args()

    manifest = json.load(open(f"{a.trace_dir}/manifest.json"))
    conf = np.load(f"{a.trace_dir}/conf.npy").astype(np.float64).tolist()  # float32 values, exactly
    pred = np.load(f"{a.trace_dir}/pred.npy").tolist()
    label = np.load(f"{a.trace_dir}/label.npy").tolist()
    depths = [e["depth_blocks"] for e in manifest["exits"]]
    K = len(depths)
    N = len(label)
    gamma = [a.lam * l for l in depths]

    S = [0.0] * K
    Nobs = [0.0] * K
    arms = [0] * K
    total_reward = 0.0
    total_cost = 0.0
    correct = 0
    start = time.perf_counter()
    cpu_start = time.process_time()
    for t in range(a.steps):
        i = t % N
        c = conf[i]
        # select: init rounds play arm t; then UCB index, ties to the lowest arm; n includes this sample
        if t < K:
            arm = t
        else:
            bonus = a.beta * math.sqrt(math.log(t + 1))
            arm, best = 0, -math.inf
            for j in range(K):
                idx = S[j] / Nobs[j] + bonus / math.sqrt(Nobs[j]) if Nobs[j] > 0 else math.inf
                if idx > best:
                    arm, best = j, idx
        # act (docs/method.md §1) and reward (§2)
        cK = c[K - 1]
        if arm < K - 1 and c[arm] >= a.alpha:
            r = c[arm] - a.mu * gamma[arm]
            cost = gamma[arm]
            p = pred[i][arm]
        elif arm < K - 1:
            r = cK - a.mu * (gamma[arm] + a.offload)
            cost = gamma[arm] + a.offload
            p = pred[i][K - 1]
        else:
            r = cK - a.mu * gamma[arm]
            cost = gamma[arm]
            p = pred[i][K - 1]
        # side observations: every arm j <= arm, once (side_info oracle: C_K from the trace)
        for j in range(arm + 1):
            if j < K - 1 and c[j] >= a.alpha:
                rj = c[j] - a.mu * gamma[j]
            elif j < K - 1:
                rj = cK - a.mu * (gamma[j] + a.offload)
            else:
                rj = cK - a.mu * gamma[j]
            S[j] += rj
            Nobs[j] += 1.0
        total_reward += r
        total_cost += cost
        correct += p == label[i]
        arms[arm] += 1
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(f"steps {a.steps} total_reward {total_reward:.9f} total_cost {total_cost:.9f} correct {correct} arms "
          + " ".join(str(x) for x in arms))
    print(f"python: {a.steps / cpu:.0f} decisions/s ({cpu:.3f} s CPU; {elapsed:.3f} s wall)", file=sys.stderr)


if __name__ == "__main__":
    main()
