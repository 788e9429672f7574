"""Independent reference implementations (numpy / scipy / skimage / PIL) of the distortions that the
C++ parity tests compare against. Written from the corruption descriptions in
the published ImageNet-C/CIFAR-10-C generation scripts, not from the C++ code.

usage: reference_corruptions.py INPUT.png OUT_DIR JOBS_JSON
JOBS_JSON: [{"name": "contrast", "params": [0.4], "out": "contrast_1.png"}, ...]
Each output is written as a lossless PNG (uint8 RGB, rounded)."""
import json
import os
import sys

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage import color, filters


def to_u8(x):
    return np.clip(np.rint(np.clip(x, 0, 1) * 255), 0, 255).astype(np.uint8)


def contrast(x, c):
    m = x.mean(axis=(0, 1), keepdims=True)
    return (x - m) * c + m


def brightness(x, c):
    hsv = color.rgb2hsv(x)
    hsv[..., 2] = np.clip(hsv[..., 2] + c, 0, 1)
    return color.hsv2rgb(hsv)


def saturate(x, mul, add):
    hsv = color.rgb2hsv(x)
    hsv[..., 1] = np.clip(hsv[..., 1] * mul + add, 0, 1)
    return color.hsv2rgb(hsv)


def gaussian_blur(x, sigma):
    return filters.gaussian(x, sigma=sigma, mode="nearest", truncate=4.0, channel_axis=-1)


def gauss1d(ksize, sigma):
    r = ksize // 2
    t = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-t * t / (2 * sigma * sigma))
    return k / k.sum()


def defocus(x, radius, alias):
    half = 8 if radius <= 8 else int(radius)
    ks = 3 if radius <= 8 else 5
    t = np.arange(-half, half + 1)
    X, Y = np.meshgrid(t, t)
    disk = ((X ** 2 + Y ** 2) <= radius ** 2).astype(np.float64)
    disk /= disk.sum()
    g = gauss1d(ks, alias)
    # Anti-alias the kernel with reflect-101 borders ("mirror" in scipy), as cv2.GaussianBlur does.
    disk = ndimage.correlate1d(disk, g, axis=0, mode="mirror")
    disk = ndimage.correlate1d(disk, g, axis=1, mode="mirror")
    return np.stack([ndimage.correlate(x[..., c], disk, mode="mirror") for c in range(x.shape[2])], axis=-1)


def main():
    src = Image.open(sys.argv[1]).convert("RGB")
    out_dir = sys.argv[2]
    jobs = json.loads(open(sys.argv[3]).read())
    x = np.asarray(src).astype(np.float64) / 255.0
    for job in jobs:
        name, p = job["name"], job["params"]
        path = os.path.join(out_dir, job["out"])
        if name == "pixelate":
            w, h = src.size
            img = src.resize((int(w * p[0]), int(h * p[0])), Image.BOX).resize((w, h), Image.BOX)
            img.save(path)
            continue
        if name == "jpeg_compression":
            tmp = path + ".jpg"
            src.save(tmp, quality=int(p[0]))
            Image.open(tmp).convert("RGB").save(path)
            os.remove(tmp)
            continue
        fn = {"contrast": contrast, "brightness": brightness, "saturate": saturate,
              "gaussian_blur": gaussian_blur, "defocus_blur": defocus}[name]
        Image.fromarray(to_u8(fn(x, *p))).save(path)


if __name__ == "__main__":
    main()
