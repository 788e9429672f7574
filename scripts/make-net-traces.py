#!/usr/bin/env python3
"""Writes the example link traces configs/net/wifi.csv and configs/net/lte.csv.

A link trace is CSV `t_seconds,mbps,rtt_ms`: from t_seconds on, the edge's uplink carries `mbps`
megabits per second and a round trip takes `rtt_ms` on top of the transmission time (isplitee
applies it at the edge as a token bucket plus delay; a row with mbps 0 is an outage). The traces
are synthetic, generated from the parameters below with a fixed seed, so they are reproducible
and carry no measurement data of anyone's network:

  bandwidth  b_t = max(floor, mean + (b_{t-1} - mean) * rho + sigma * sqrt(1 - rho^2) * N(0, 1))
             (a first-order autoregressive process around `mean`, correlation `rho` per step);
             with probability `dip_p` per step a dip starts: `dip_len` steps at `dip_mbps`
             (Wi-Fi: interference or a neighbour's burst; LTE: a handover or a cell edge);
  RTT        rtt_t = base_rtt + |N(0, jitter)|, and during a dip + `dip_rtt` (queues fill).

The defaults describe a typical home Wi-Fi uplink (802.11ac, a few metres from the access point:
tens of Mbps, a few ms) and an LTE uplink with medium signal (around 10 Mbps, tens of ms,
occasional handovers). Usage: python3 scripts/make-net-traces.py [OUT_DIR] (default configs/net).
"""
import math
import os
import random
import sys

PROFILES = {
    "wifi": dict(seed=11, seconds=120, step=0.5, mean=40.0, sigma=8.0, rho=0.8, floor=2.0,
                 dip_p=0.02, dip_len=(2, 6), dip_mbps=(3.0, 8.0),
                 base_rtt=3.0, jitter=1.5, dip_rtt=15.0),
    "lte": dict(seed=23, seconds=120, step=0.5, mean=10.0, sigma=3.0, rho=0.9, floor=0.5,
                dip_p=0.03, dip_len=(2, 4), dip_mbps=(0.3, 1.5),
                base_rtt=45.0, jitter=8.0, dip_rtt=60.0),
}


def generate(p):
    rng = random.Random(p["seed"])
    rows, b, dip_left = [], p["mean"], 0
    for i in range(int(p["seconds"] / p["step"])):
        b = p["mean"] + (b - p["mean"]) * p["rho"] + \
            p["sigma"] * math.sqrt(1 - p["rho"] ** 2) * rng.gauss(0, 1)
        b = max(p["floor"], b)
        if dip_left == 0 and rng.random() < p["dip_p"]:
            dip_left = rng.randint(*p["dip_len"])
        rtt = p["base_rtt"] + abs(rng.gauss(0, p["jitter"]))
        mbps = b
        if dip_left > 0:
            mbps = rng.uniform(*p["dip_mbps"])
            rtt += p["dip_rtt"]
            dip_left -= 1
        rows.append((i * p["step"], mbps, rtt))
    return rows


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "configs", "net"))
    os.makedirs(out, exist_ok=True)
    for name, p in PROFILES.items():
        rows = generate(p)
        path = os.path.join(out, name + ".csv")
        with open(path + ".tmp", "w") as f:
            f.write("# %s uplink, synthetic: scripts/make-net-traces.py (seed %d); %s\n" % (
                name, p["seed"], ", ".join("%s=%s" % kv for kv in sorted(p.items()) if kv[0] != "seed")))
            f.write("t_seconds,mbps,rtt_ms\n")
            for t, mbps, rtt in rows:
                f.write("%g,%.2f,%.1f\n" % (t, mbps, rtt))
        os.replace(path + ".tmp", path)
        mb = sorted(r[1] for r in rows)
        rt = sorted(r[2] for r in rows)
        print("%s: %d rows, %g s; mbps median %.1f (p5 %.1f), rtt_ms median %.1f (p95 %.1f)" % (
            path, len(rows), len(rows) * p["step"], mb[len(mb) // 2], mb[len(mb) // 20],
            rt[len(rt) // 2], rt[len(rt) * 19 // 20]))


if __name__ == "__main__":
    main()
