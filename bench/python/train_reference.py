#!/usr/bin/python3
"""PyTorch reference for bench_train: the same multi-exit CIFAR-style ResNet as isplitee's
`resnet_cifar` (option-A shortcuts, bnpool exit heads, GAP+Linear final head), timed for
(a) joint training steps (forward all exits, Σ CE, backward, Adam with 3 parameter groups) and
(b) tracing (eval, no grad, all exits + softmax max/argmax/entropy/margin).

Usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/python/train_reference.py \
           --threads 2 --depth 14 --width 16 --size 28 --channels 1 --batch 128 --trace-batch 256
Prints one JSON line: {"train_images_per_s": …, "trace_images_per_s": …}.
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(i, o, stride, relu):
    layers = [nn.Conv2d(i, o, 3, stride, 1, bias=False), nn.BatchNorm2d(o)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class Block(nn.Module):
    def __init__(self, i, o, stride):
        super().__init__()
        self.c1 = conv_bn(i, o, stride, True)
        self.c2 = conv_bn(o, o, 1, False)
        self.stride, self.pad = stride, o - i

    def forward(self, x):
        idt = x[:, :, ::self.stride, ::self.stride] if self.stride != 1 else x
        if self.pad > 0:
            idt = F.pad(idt, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return F.relu(self.c2(self.c1(x)) + idt)


class Head(nn.Module):
    def __init__(self, c, classes, bn):
        super().__init__()
        self.bn = nn.BatchNorm2d(c) if bn else None
        self.fc = nn.Linear(c, classes)

    def forward(self, h):
        if self.bn is not None:
            h = self.bn(h)
        return self.fc(h.mean((2, 3)))


class MultiExitResNet(nn.Module):
    def __init__(self, depth, width, channels, classes):
        super().__init__()
        n = (depth - 2) // 6
        blocks, chans, c = [conv_bn(channels, width, 1, True)], [width], width
        for stage in range(3):
            out = width << stage
            for i in range(n):
                blocks.append(Block(c, out, 2 if stage > 0 and i == 0 else 1))
                c = out
                chans.append(c)
        self.blocks = nn.ModuleList(blocks)
        r = 3 * n
        self.exit_after = list(range(2, r + 1))  # 1-based block numbers, as isplitee's default
        self.exits = nn.ModuleList([Head(chans[b - 1], classes, True) for b in self.exit_after])
        self.final = Head(c, classes, False)

    def forward(self, x):
        outs, e = [], 0
        for b, blk in enumerate(self.blocks, start=1):
            x = blk(x)
            if e < len(self.exit_after) and self.exit_after[e] == b:
                outs.append(self.exits[e](x))
                e += 1
        outs.append(self.final(x))
        return outs

    def groups(self):
        return (list(self.blocks.parameters()), list(self.exits.parameters()), list(self.final.parameters()))


def stats(z):
    p = torch.softmax(z.double(), 1)
    top = p.topk(2, 1).values
    ent = -(p * torch.log_softmax(z.double(), 1)).sum(1)
    return top[:, 0].float(), z.argmax(1).int(), ent.float(), (top[:, 0] - top[:, 1]).float()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--depth", type=int, default=14)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--size", type=int, default=28)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--trace-batch", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=8.0, help="minimum timed seconds per mode")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = MultiExitResNet(a.depth, a.width, a.channels, a.classes)
    bb, ex, fin = net.groups()
    opt = torch.optim.Adam([{"params": bb, "lr": 2e-3}, {"params": ex, "lr": 4e-3}, {"params": fin, "lr": 2e-3}],
                           weight_decay=1e-4)
    x = torch.randn(a.batch, a.channels, a.size, a.size)
    y = torch.randint(0, a.classes, (a.batch,))

    def train_step():
        outs = net(x)
        loss = sum(F.cross_entropy(o, y) for o in outs)
        opt.zero_grad()
        loss.backward()
        opt.step()

    net.train()
    for _ in range(3):
        train_step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < a.seconds:
        train_step()
        n += a.batch
    train_ips = n / (time.perf_counter() - t0)

    net.eval()
    xt = torch.randn(a.trace_batch, a.channels, a.size, a.size)
    with torch.inference_mode():
        for _ in range(3):
            [stats(o) for o in net(xt)]
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < a.seconds:
            [stats(o) for o in net(xt)]
            n += a.trace_batch
        trace_ips = n / (time.perf_counter() - t0)
    print(json.dumps({"train_images_per_s": train_ips, "trace_images_per_s": trace_ips, "threads": a.threads,
                      "batch": a.batch, "trace_batch": a.trace_batch, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
