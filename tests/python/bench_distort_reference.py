"""Reference timings: the ImageNet-C corruptions as the public Python generators compute them (numpy /
scipy / skimage / PIL, written here from the descriptions in the published ImageNet-C/CIFAR-10-C generation scripts),
for comparison with build-data/bench/bench_distort. Snow and motion blur need ImageMagick (Wand),
frost needs the photos and spatter needs cv2: none is available here, so they are not timed.

usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tests/python/bench_distort_reference.py [SIZE ...]
Prints one line per corruption: name, size, severity, CPU ms/image (process time, so a loaded machine
skews it less than wall time)."""
import sys
import time
from io import BytesIO

import numpy as np
from PIL import Image
from scipy import ndimage
from scipy.ndimage import zoom as scizoom
from skimage import color, filters, util

C = {  # 224-px (ImageNet-C) and 32-px (CIFAR-10-C) constants, severities 3 and 5
    224: {"gaussian_noise": {3: .18, 5: .38}, "shot_noise": {3: 12, 5: 3}, "impulse_noise": {3: .09, 5: .27},
          "speckle_noise": {3: .35, 5: .6}, "gaussian_blur": {3: 3, 5: 6}, "glass_blur": {3: (1, 2, 3), 5: (1.5, 4, 2)},
          "defocus_blur": {3: (6, .5), 5: (10, .5)}, "zoom_blur": {3: (1.21, .02), 5: (1.31, .03)},
          "contrast": {3: .2, 5: .05}, "brightness": {3: .3, 5: .5}, "saturate": {3: (2, 0), 5: (20, .2)},
          "jpeg_compression": {3: 15, 5: 7}, "pixelate": {3: .4, 5: .25}, "fog": {3: (2.5, 1.7), 5: (3, 1.4)},
          "elastic_transform": {3: (244 * .05, 244 * .01, 244 * .02), 5: (244 * .12, 244 * .01, 244 * .02)}},
    32: {"gaussian_noise": {3: .08, 5: .1}, "shot_noise": {3: 100, 5: 50}, "impulse_noise": {3: .03, 5: .07},
         "speckle_noise": {3: .12, 5: .2}, "gaussian_blur": {3: .7, 5: 1}, "glass_blur": {3: (.4, 1, 1), 5: (.4, 1, 2)},
         "defocus_blur": {3: (.5, .6), 5: (1.5, .1)}, "zoom_blur": {3: (1.16, .01), 5: (1.26, .01)},
         "contrast": {3: .4, 5: .15}, "brightness": {3: .15, 5: .3}, "saturate": {3: (1.5, 0), 5: (2.5, .2)},
         "jpeg_compression": {3: 58, 5: 40}, "pixelate": {3: .85, 5: .65}, "fog": {3: (.75, 2.5), 5: (1.5, 1.75)},
         "elastic_transform": {3: (32 * .08, 32 * .06, 32 * .06), 5: (32 * .1, 32 * .03, 32 * .03)}},
}


def disk(radius, alias_blur):
    L = np.arange(-8, 8 + 1) if radius <= 8 else np.arange(-radius, radius + 1)
    X, Y = np.meshgrid(L, L)
    k = ((X ** 2 + Y ** 2) <= radius ** 2).astype(np.float32)
    k /= k.sum()
    return ndimage.gaussian_filter(k, alias_blur, mode="mirror", truncate=1.0)


def clipped_zoom(img, z):
    h = img.shape[0]
    ch = int(np.ceil(h / z))
    top = (h - ch) // 2
    img = scizoom(img[top:top + ch, top:top + ch], (z, z, 1), order=1)
    t = (img.shape[0] - h) // 2
    return img[t:t + h, t:t + h]


def plasma(mapsize, decay):
    m = np.zeros((mapsize, mapsize))
    step, wib = mapsize, 100.0
    while step >= 2:
        h = step // 2
        c = m[0:mapsize:step, 0:mapsize:step]
        sq = c + np.roll(c, -1, 0)
        sq = sq + np.roll(sq, -1, 1)
        m[h:mapsize:step, h:mapsize:step] = sq / 4 + wib * np.random.uniform(-wib, wib, sq.shape)
        dr = m[h:mapsize:step, h:mapsize:step]
        ul = m[0:mapsize:step, 0:mapsize:step]
        lt = dr + np.roll(dr, 1, 0) + ul + np.roll(ul, -1, 1)
        m[0:mapsize:step, h:mapsize:step] = lt / 4 + wib * np.random.uniform(-wib, wib, lt.shape)
        tt = dr + np.roll(dr, 1, 1) + ul + np.roll(ul, -1, 0)
        m[h:mapsize:step, 0:mapsize:step] = tt / 4 + wib * np.random.uniform(-wib, wib, tt.shape)
        step //= 2
        wib /= decay
    m -= m.min()
    return m / m.max()


def run(name, x, c, size):
    x = x / 255.0
    if name == "gaussian_noise":
        return np.clip(x + np.random.normal(size=x.shape, scale=c), 0, 1)
    if name == "shot_noise":
        return np.clip(np.random.poisson(x * c) / c, 0, 1)
    if name == "impulse_noise":
        return np.clip(util.random_noise(x, mode="s&p", amount=c), 0, 1)
    if name == "speckle_noise":
        return np.clip(x + x * np.random.normal(size=x.shape, scale=c), 0, 1)
    if name == "gaussian_blur":
        return filters.gaussian(x, sigma=c, channel_axis=-1)
    if name == "glass_blur":
        s, d, it = c
        y = np.uint8(filters.gaussian(x, sigma=s, channel_axis=-1) * 255)
        for _ in range(it):
            for h in range(size - d, d, -1):
                for w in range(size - d, d, -1):
                    dx, dy = np.random.randint(-d, d, size=(2,))
                    hp, wp = h + dy, w + dx
                    y[h, w], y[hp, wp] = y[hp, wp], y[h, w]
        return filters.gaussian(y / 255.0, sigma=s, channel_axis=-1)
    if name == "defocus_blur":
        k = disk(*c)
        return np.stack([ndimage.correlate(x[..., i], k, mode="mirror") for i in range(3)], -1)
    if name == "zoom_blur":
        out = np.zeros_like(x)
        zs = np.arange(1, c[0], c[1])
        for z in zs:
            out += clipped_zoom(x, z)
        return (x + out) / (len(zs) + 1)
    if name == "contrast":
        m = x.mean(axis=(0, 1), keepdims=True)
        return np.clip((x - m) * c + m, 0, 1)
    if name == "brightness":
        hsv = color.rgb2hsv(x)
        hsv[..., 2] = np.clip(hsv[..., 2] + c, 0, 1)
        return color.hsv2rgb(hsv)
    if name == "saturate":
        hsv = color.rgb2hsv(x)
        hsv[..., 1] = np.clip(hsv[..., 1] * c[0] + c[1], 0, 1)
        return color.hsv2rgb(hsv)
    if name == "jpeg_compression":
        buf = BytesIO()
        Image.fromarray(np.uint8(x * 255)).save(buf, "JPEG", quality=c)
        return np.asarray(Image.open(buf))
    if name == "pixelate":
        im = Image.fromarray(np.uint8(x * 255))
        return np.asarray(im.resize((int(size * c), int(size * c)), Image.BOX).resize((size, size), Image.BOX))
    if name == "fog":
        mx = x.max()
        ms = 256 if size == 224 else size
        x = x + c[0] * plasma(ms, c[1])[:size, :size][..., None]
        return np.clip(x * mx / (mx + c[0]), 0, 1)
    if name == "elastic_transform":
        a, s, j = c
        dx = filters.gaussian(np.random.uniform(-1, 1, size=(size, size)), s, mode="reflect", truncate=3) * a
        dy = filters.gaussian(np.random.uniform(-1, 1, size=(size, size)), s, mode="reflect", truncate=3) * a
        xx, yy, zz = np.meshgrid(np.arange(size), np.arange(size), np.arange(3))
        ind = np.reshape(yy + dy[..., None], (-1, 1)), np.reshape(xx + dx[..., None], (-1, 1)), np.reshape(zz, (-1, 1))
        return ndimage.map_coordinates(x, ind, order=1, mode="reflect").reshape(x.shape)
    raise KeyError(name)


def main():
    sizes = [int(s) for s in sys.argv[1:]] or [32, 224]
    rng = np.random.default_rng(0)
    for size in sizes:
        img = (rng.random((size, size, 3)) * 255).astype(np.float64)
        img = ndimage.gaussian_filter(img, (2, 2, 0))  # smooth, photo-like statistics
        for name in C[size]:
            for sev in (3, 5):
                c = C[size][name][sev]
                reps = 1 if name == "glass_blur" and size == 224 else (3 if size == 224 else 20)
                run(name, img, c, size)
                t = time.process_time()
                for _ in range(reps):
                    run(name, img, c, size)
                ms = (time.process_time() - t) / reps * 1000
                print(f"{name} {size} {sev} {ms:.3f}", flush=True)


if __name__ == "__main__":
    main()
