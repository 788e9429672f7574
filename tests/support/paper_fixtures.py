#!/usr/bin/env python3
"""Tiny datasets in the exact on-disk formats of the paper's datasets, for end-to-end tests.

  cifar10 DIR     DIR/cifar-10-batches-bin/{data_batch_1..5.bin,test_batch.bin,batches.meta.txt}:
                  records of 1 label byte + 3072 pixel bytes (R, G, B planes of 32x32, row-major),
                  as in cifar-10-binary.tar.gz, just fewer records per file.
  caltech256 DIR  DIR/256_ObjectCategories/NNN.name/NNN_XXXX.jpg: all 257 class folders (001..256
                  plus 257.clutter), JPEGs of varied sizes in some of them (one grayscale, as the
                  real archive has), and the real archive's strays: the non-image file
                  198.spider/RENAME2 and the empty folders 056.dog/greg/vision309.

Images carry a class-dependent colour and stripe so a network can tell classes apart. Seeded: the
same arguments give the same bytes. Uses Debian's python3-numpy and python3-pil.
"""
import argparse
import io
import os
import sys

import numpy as np
from PIL import Image

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                   "truck"]
# The first Caltech-256 class names; the others get a placeholder name (the reader only uses the
# NNN. prefix order and the text after it).
CALTECH_NAMES = {1: "ak47", 2: "american-flag", 3: "backpack", 4: "baseball-bat",
                 5: "baseball-glove", 6: "basketball-hoop", 7: "bat", 8: "bathtub", 9: "bear",
                 10: "beer-mug", 56: "dog", 198: "spider", 257: "clutter"}


def pattern(rng, label, num_classes, h, w):
    """An RGB uint8 image: class colour, a stripe at a class-dependent place, noise."""
    hue = label / max(1, num_classes)
    base = np.array([255 * hue, 255 * (1 - hue), 128 + 127 * np.sin(6.28 * hue)])
    img = np.empty((h, w, 3), np.float64)
    img[:] = base * 0.6
    x0 = int((label % 8) / 8 * w)
    img[:, x0:x0 + max(2, w // 8), :] = 255 - base * 0.5
    img += rng.normal(0, 25, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_cifar_file(path, rng, n, first_label):
    with open(path, "wb") as f:
        for i in range(n):
            label = (first_label + i) % 10
            img = pattern(rng, label, 10, 32, 32)
            f.write(bytes([label]))
            f.write(img.transpose(2, 0, 1).tobytes())  # R plane, G plane, B plane


def cifar10(args):
    rng = np.random.default_rng(args.seed)
    base = os.path.join(args.dir, "cifar-10-batches-bin")
    os.makedirs(base, exist_ok=True)
    per_batch = args.train // 5
    for b in range(1, 6):
        write_cifar_file(os.path.join(base, f"data_batch_{b}.bin"), rng, per_batch, b)
    write_cifar_file(os.path.join(base, "test_batch.bin"), rng, args.test, 0)
    with open(os.path.join(base, "batches.meta.txt"), "w") as f:
        f.write("\n".join(CIFAR10_CLASSES) + "\n\n")


def caltech256(args):
    rng = np.random.default_rng(args.seed)
    base = os.path.join(args.dir, "256_ObjectCategories")
    with_images = set(int(c) for c in args.classes.split(","))
    gray_done = False
    for c in range(1, 258):
        folder = os.path.join(base, f"{c:03d}.{CALTECH_NAMES.get(c, f'category-{c:03d}')}")
        os.makedirs(folder, exist_ok=True)
        if c not in with_images:
            continue
        for i in range(1, args.per_class + 1):
            h, w = (int(v) for v in rng.integers(48, 200, size=2))
            img = Image.fromarray(pattern(rng, c - 1, 257, h, w))
            if not gray_done:
                img, gray_done = img.convert("L"), True
            buf = io.BytesIO()
            img.save(buf, format="JPEG", quality=90)
            with open(os.path.join(folder, f"{c:03d}_{i:04d}.jpg"), "wb") as f:
                f.write(buf.getvalue())
    spider = os.path.join(base, f"198.{CALTECH_NAMES[198]}")
    with open(os.path.join(spider, "RENAME2"), "w") as f:
        f.write("stray file shipped in the real 256_ObjectCategories.tar\n")
    os.makedirs(os.path.join(base, f"056.{CALTECH_NAMES[56]}", "greg", "vision309"), exist_ok=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    c = sub.add_parser("cifar10")
    c.add_argument("dir")
    c.add_argument("--train", type=int, default=100, help="train records (over 5 batches)")
    c.add_argument("--test", type=int, default=40)
    c.add_argument("--seed", type=int, default=0)
    k = sub.add_parser("caltech256")
    k.add_argument("dir")
    k.add_argument("--classes", default="1,2,3,4,56,198,257",
                   help="comma-separated class numbers (1..257) that get images")
    k.add_argument("--per-class", type=int, default=10)
    k.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.what == "cifar10":
        if args.train % 5:
            sys.exit("paper_fixtures.py: --train must be a multiple of 5 (five batches)")
        cifar10(args)
    else:
        caltech256(args)


if __name__ == "__main__":
    main()
