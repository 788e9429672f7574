#!/usr/bin/env python3
"""PyTorch reference for bench/bench_model.cpp: the same multi-exit MobileNetV2 (torchvision
topology, bnpool exit heads after features[2,5,8,11,14,17], final classifier) in eager PyTorch,
eval mode under torch.inference_mode: all exits per forward ("all"), the plain backbone ("plain"),
and all exits with PyTorch's channels-last memory format ("all_cl").

  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/python/model_reference.py --threads 1
Prints one line per case: size batch mode images/s (median of the timed runs).
"""
import argparse
import json
import statistics
import time

import torch
import torchvision

EXITS = [2, 5, 8, 11, 14, 17]


class MultiExitMobileNetV2(torch.nn.Module):
    def __init__(self, size, classes=10):
        super().__init__()
        m = torchvision.models.mobilenet_v2(weights=None, num_classes=classes)
        if size <= 64:  # CIFAR variant, as isplitee's small_input
            m.features[0][0].stride = (1, 1)
            m.features[2].conv[1][0].stride = (1, 1)
        self.features = m.features
        self.classifier = m.classifier
        self.heads = torch.nn.ModuleList()
        for i in EXITS:
            c = m.features[i].out_channels
            self.heads.append(torch.nn.Sequential(torch.nn.BatchNorm2d(c), torch.nn.AdaptiveAvgPool2d(1),
                                                  torch.nn.Flatten(), torch.nn.Linear(c, classes)))

    def forward(self, x):
        outs = []
        h = 0
        for i, block in enumerate(self.features):
            x = block(x)
            if h < len(EXITS) and i == EXITS[h]:
                outs.append(self.heads[h](x))
                h += 1
        x = torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        outs.append(self.classifier(x))
        return outs

    def plain(self, x):
        x = self.features(x)
        return self.classifier(torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1))


def bench(size, batch, mode, runs, min_time):
    torch.manual_seed(0)
    net = MultiExitMobileNetV2(size).eval()
    x = torch.randn(batch, 3, size, size)
    if mode.endswith("_cl"):  # PyTorch's own channels-last, for a fair comparison
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    fn = net if mode.startswith("all") else net.plain
    times, cpu = [], []
    with torch.inference_mode():
        fn(x)  # warm-up
        start = time.perf_counter()
        while len(times) < runs or (time.perf_counter() - start < min_time and len(times) < 1000):
            t0, c0 = time.perf_counter(), time.process_time()
            fn(x)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    # Wall-clock and CPU-time rates: on a shared machine the CPU-time rate is the steadier one.
    return batch / statistics.median(times), batch / statistics.median(cpu)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cases", default="32:1,224:1,32:256,224:256")
    ap.add_argument("--json", help="write results here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = []
    for case in args.cases.split(","):
        size, batch = map(int, case.split(":"))
        for mode in ("all", "plain", "all_cl"):
            if size == 224 and batch == 256 and mode == "plain":
                continue
            runs = 1 if batch == 256 and size == 224 else (3 if batch == 256 else 5)
            ips, cpu_ips = bench(size, batch, mode, runs, 0 if batch == 256 else 1.0)
            out.append({"size": size, "batch": batch, "mode": mode, "images_per_s": ips,
                        "images_per_cpu_s": cpu_ips})
            print(f"size={size} batch={batch} mode={mode} images/s={ips:.1f} "
                  f"images/cpu-s={cpu_ips:.1f} threads={torch.get_num_threads()}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
