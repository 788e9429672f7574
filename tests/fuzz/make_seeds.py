#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/): small files in the
real formats, written the way numpy, gzip and isplitee itself write them. Run with Debian's
/usr/bin/python3 (numpy) from the repository root; report_json seeds come from a tiny
`isplitee run` (see FUZZING.md) and are not rewritten here."""

import gzip
import io
import json
import pathlib
import struct

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"
SEP = b"\n=====ISPLITEE-FILE=====\n"  # fuzz_support.hpp kFileSeparator


def put(target, name, data):
    d = ROOT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def npy_bytes(a, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, a)
    else:
        np.lib.format.write_array(buf, a, version=version)
    return buf.getvalue()


def npy():
    put("npy", "conf_f4_4x3.npy", npy_bytes(np.linspace(0, 1, 12, dtype=np.float32).reshape(4, 3)))
    put("npy", "pred_i4_4x3.npy", npy_bytes(np.arange(12, dtype=np.int32).reshape(4, 3) % 10))
    put("npy", "label_i8_4.npy", npy_bytes(np.array([1, 2, 3, 0], dtype=np.int64)))
    put("npy", "conf_f8_2x2.npy", npy_bytes(np.array([[0.5, 0.25], [1.0, 0.0]])))
    put("npy", "v2_header.npy", npy_bytes(np.zeros((2, 2), dtype=np.float32), version=(2, 0)))
    put("npy", "empty_0x3.npy", npy_bytes(np.zeros((0, 3), dtype=np.float32)))
    put("npy", "logits_2x2x3.npy", npy_bytes(np.ones((2, 2, 3), dtype=np.float32)))
    put("npy", "fortran.npy", npy_bytes(np.asfortranarray(np.ones((2, 3), dtype=np.float32))))
    put("npy", "big_endian.npy", npy_bytes(np.ones(3, dtype=">f4")))


CSV_HEADER = "conf_1,conf_2,conf_3,pred_1,pred_2,pred_3,label\n"


def trace_csv():
    put("trace_csv", "k3.csv", CSV_HEADER + "0.2,0.5,0.9,0,1,1,1\n0.4,0.6,0.7,2,2,2,2\n1,1,1,3,3,3,3\n")
    put("trace_csv", "pandas_floats_crlf.csv",
        CSV_HEADER.replace("\n", "\r\n") + "0.25,0.5,0.75,1.0,2.0,3.0,3.0\r\n")
    put("trace_csv", "k1.csv", "conf_1,pred_1,label\n0.5,1,1\n\n0.9,0,0\n")
    put("trace_csv", "bad_range.csv", CSV_HEADER + "0.2,1.5,0.9,0,1,1,1\n")
    put("trace_csv", "exponent.csv", CSV_HEADER + "1e-3,5E-1,0.9,0,1e0,1,1\n")


def manifest(n=4, k=3, **extra):
    m = {"format_version": 1, "arch": "resnet_cifar", "num_classes": 10,
         "exits": [{"depth_blocks": i + 2, "macs_millions": 1.5 * (i + 1),
                    "activation_bytes": 4 * 12 * 28 * 28, "activation_shape": [12, 28, 28]}
                   for i in range(k)],
         "checkpoint_sha256": "7b43972ca8544721e5897f12c3861caff6a71fd1971d431454226e17afed3590",
         "dataset": "fashion-mnist", "split": "test", "sample_ids": list(range(60000, 60000 + n)),
         "distortion": {"name": "gaussian_noise", "spec": {"name": "gaussian_noise", "severity": 3}},
         "seed": 0, "tool_version": "0.1.0", "extra": {"cache_key": "ab" * 32}}
    m.update(extra)
    return json.dumps(m, indent=2) + "\n"


def trace_manifest():
    put("trace_manifest", "manifest_only.json", manifest())
    conf = np.array([[0.2, 0.5, 0.9], [0.4, 0.6, 0.7], [1, 1, 1], [0, 0.3, 0.8]], dtype=np.float32)
    pred = np.array([[0, 1, 1], [2, 2, 2], [3, 3, 3], [0, 1, 0]], dtype=np.int32)
    label = np.array([1, 2, 3, 0], dtype=np.int32)
    ent = np.full((4, 3), 0.5, dtype=np.float32)
    margin = np.full((4, 3), 0.25, dtype=np.float32)
    logits = np.zeros((4, 3, 10), dtype=np.float32)
    cols = [npy_bytes(a) for a in (conf, pred, label, ent, margin)]
    put("trace_manifest", "all_columns", SEP.join([manifest().encode()] + cols))
    put("trace_manifest", "with_logits",
        SEP.join([manifest().encode()] + cols + [npy_bytes(logits)]))
    put("trace_manifest", "no_sample_ids.json", manifest(sample_ids=[]))
    put("trace_manifest", "wrong_k.json", manifest(k=2))


def policy_arg():
    for i, a in enumerate(["i-splitee", "splitee:beta=2", "sw-ucb:tau=500,xi=0.6",
                           "discounted-ucb:gamma=0.995", "fixed:arm=3", "epsilon-greedy:epsilon=0.2",
                           "thompson:sigma=1", "i-splitee:label=ucb2,beta=0.5", "final-exit",
                           "best-fixed", "i-splite", "sw-ucb:tau=1.5"]):
        put("policy_arg", f"arg{i:02d}", a)


def config():
    for p in sorted((ROOT.parent.parent.parent / "configs").glob("*.json")):
        put("config", p.name, p.read_bytes())
    put("config", "sets", '{"name": "x"}\n--set cost.alpha=0.7\n--set policies.0.beta=2\n'
        "--set experiment.repeats=3\n--set data.preprocess.mean=[0.5]\n")
    put("config", "sets_only", "--set model.arch=resnet18\n--set trace.distortions.0.severity=2\n")
    put("config", "streams", json.dumps({
        "policies": [{"name": "i-splitee"}, {"name": "sw-ucb", "tau": 50}],
        "trace": {"distortions": [{"name": "none"}, {"name": "gaussian_noise", "severity": 5}]},
        "streams": {"schedules": [{"name": "drift", "segments": [
            {"trace": "none", "length": 150}, {"trace": "gaussian_noise@5", "length": 150}]}]}}))


    put("config", "distortions", json.dumps({"trace": {"distortions": [
        {"name": "none"}, {"name": "glass_blur", "severity": 3, "preset": "auto"},
        {"name": "gaussian_noise", "params": {"sigma": 20, "units": "px"}},
        {"name": "gaussian_blur", "params": {"sigma": 1.5, "kernel": "adaee"}},
        {"name": "chain", "params": {"steps": [{"name": "fog", "severity": 2},
                                               {"name": "jpeg_compression", "severity": 1}]}}]},
        "model": {"arch": "mobilenet_v2", "exits": {"mac_fractions": [0.15, 0.3, 0.45]}},
        "data": {"name": "cifar10", "preprocess": {"resize": 256, "crop": 224, "channels": 3}}}))


def idx_pair(n, rows, cols, seed):
    rng = np.random.default_rng(seed)
    img = struct.pack(">IIII", 2051, n, rows, cols) + rng.integers(0, 256, n * rows * cols,
                                                                      dtype=np.uint8).tobytes()
    lab = struct.pack(">II", 2049, n) + rng.integers(0, 10, n, dtype=np.uint8).tobytes()
    return img, lab


def idx():
    img, lab = idx_pair(3, 28, 28, 1)
    put("idx", "plain_3x28x28", img + SEP + lab)
    put("idx", "gzip_3x28x28", gzip.compress(img, mtime=0) + SEP + gzip.compress(lab, mtime=0))
    img, lab = idx_pair(2, 4, 5, 2)
    put("idx", "plain_2x4x5", img + SEP + lab)
    put("idx", "two_gzip_members", gzip.compress(img[:10], mtime=0) + gzip.compress(img[10:], mtime=0)
        + SEP + lab)
    put("idx", "count_mismatch", img + SEP + struct.pack(">II", 2049, 3) + b"\x01\x02\x03")


def cifar():
    rng = np.random.default_rng(3)
    rec10 = b"".join(bytes([lab]) + rng.integers(0, 256, 3072, dtype=np.uint8).tobytes()
                     for lab in (3, 9))
    put("cifar", "cifar10_two_records", rec10)
    rec100 = bytes([5, 42]) + rng.integers(0, 256, 3072, dtype=np.uint8).tobytes()
    put("cifar", "cifar100_one_record", rec100)
    names = "\n".join(["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                       "ship", "truck"]) + "\n"
    put("cifar", "with_names", rec10 + SEP + names.encode())
    put("cifar", "truncated", rec10[:4000])


def checkpoint_meta():
    model = {"arch": "resnet_cifar", "depth": 14, "dropout": 0.0, "exits": {"mode": "default"},
             "head": "bnpool", "in_channels": 1, "input_size": 28, "num_classes": 10,
             "pretrained": "", "small_input": False, "width": 12, "width_mult": 1.0}
    meta = {"arch": "resnet_cifar", "exit_blocks": [2, 3, 4, 5, 6, 7],
            "extra": {"epoch": 3, "val_loss": 2.73}, "format": "isplitee-checkpoint",
            "format_version": 1, "head": "bnpool", "in_channels": 1, "input_size": 28,
            "model": model, "num_classes": 10, "num_exits": 6}
    put("checkpoint_meta", "resnet_cifar.json", json.dumps(meta, separators=(",", ":")))
    mb = dict(model, arch="mobilenet_v2", in_channels=3, input_size=224, dropout=0.2,
              exits={"mode": "blocks", "blocks": [3, 6, 9, 12, 15, 18]})
    put("checkpoint_meta", "mobilenet_v2.json", json.dumps(dict(
        meta, arch="mobilenet_v2", in_channels=3, input_size=224, model=mb,
        exit_blocks=[3, 6, 9, 12, 15, 18, 19], num_exits=7)))
    rn = dict(model, arch="resnet18", in_channels=3, input_size=64, small_input=True,
              exits={"mode": "macs", "mac_fractions": [0.25, 0.5]})
    put("checkpoint_meta", "resnet18_macs.json", json.dumps(dict(
        meta, arch="resnet18", in_channels=3, input_size=64, model=rn)))
    put("checkpoint_meta", "wrong_version.json", json.dumps(dict(meta, format_version=2)))


def tensor(codec, shape, payload, scale=1.0, zero_point=0.0):
    """An activation_tensor input: codec byte, rank, int64 dims, scale, zero point, payload."""
    return (bytes([codec, len(shape)]) + struct.pack("<%dq" % len(shape), *shape)
            + struct.pack("<ff", scale, zero_point) + payload)


def activation_tensor():
    rng = np.random.default_rng(7)
    act = rng.normal(size=(1, 2, 2, 2)).astype(np.float32)
    put("activation_tensor", "fp32_1x2x2x2", tensor(0, act.shape, act.astype("<f4").tobytes()))
    put("activation_tensor", "fp16_1x4", tensor(1, (1, 4), act.ravel()[:4].astype("<f2").tobytes()))
    q = rng.integers(-128, 128, 6, dtype=np.int8)
    put("activation_tensor", "int8_2x3", tensor(2, (2, 3), q.tobytes(), 0.05, -12.0))
    put("activation_tensor", "fp32_bad_size", tensor(0, (2, 2), b"\0" * 12))
    for name in ("fp32", "fp16", "int8", "bf16"):
        put("activation_tensor", "name_" + name, bytes([3]) + name.encode())


if __name__ == "__main__":
    for f in (npy, trace_csv, trace_manifest, policy_arg, config, idx, cifar, checkpoint_meta,
              activation_tensor):
        f()
