#!/usr/bin/env python3
"""Export torchvision weights for isplitee's multi-exit backbones (no downloads).

Reads a torchvision model's weights from a file on this disk (a state_dict saved with torch.save,
a checkpoint dict holding one under "state_dict"/"model", or a whole pickled nn.Module), or builds a
random-init model (for tests), renames every tensor to isplitee's MultiExitNet names and writes one
file that `model.pretrained` (C++: load_torchvision_weights) loads.

Examples:
  /usr/bin/python3 scripts/export_torchvision.py --arch mobilenet_v2 \
      --weights ~/mobilenet_v2-b0353104.pth --out mobilenet_v2_imagenet.pt
  /usr/bin/python3 scripts/export_torchvision.py --arch resnet18 --random-init --seed 0 \
      --num-classes 10 --out r18.pt --reference-size 64 --reference r18_ref.pt

Use Debian's /usr/bin/python3 (python3-torch, python3-torchvision).
"""
import argparse
import json
import os
import sys

import torch
import torchvision

ARCHS = ("mobilenet_v2", "resnet18", "resnet34", "resnet50")


def build(arch, num_classes, width_mult):
    if arch == "mobilenet_v2":
        return torchvision.models.mobilenet_v2(weights=None, num_classes=num_classes,
                                               width_mult=width_mult)
    return getattr(torchvision.models, arch)(weights=None, num_classes=num_classes)


def load_state(path):
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model", "model_state_dict"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
        # Checkpoints written from DataParallel prefix every key with "module.".
        return {k[7:] if k.startswith("module.") else k: v for k, v in obj.items()}
    sys.exit(f"export_torchvision.py: {path}: expected a state_dict, a checkpoint dict or an "
             f"nn.Module, got {type(obj).__name__}")


def isplitee_names(arch, model):
    """Maps every torchvision state_dict key to isplitee's MultiExitNet key."""
    names = {}

    def conv_bn(tv_conv, tv_bn, ours):
        names[tv_conv + ".weight"] = ours + ".0.weight"
        for s in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            names[f"{tv_bn}.{s}"] = f"{ours}.1.{s}"

    if arch == "mobilenet_v2":
        n = len(model.features)
        conv_bn("features.0.0", "features.0.1", "features.0.conv")
        conv_bn(f"features.{n - 1}.0", f"features.{n - 1}.1", f"features.{n - 1}.conv")
        for i in range(1, n - 1):
            seq = model.features[i].conv
            tv = f"features.{i}.conv"
            ours = f"features.{i}"
            if len(seq) == 3:  # expand ratio 1: dw, project conv, project bn
                conv_bn(f"{tv}.0.0", f"{tv}.0.1", f"{ours}.dw")
                conv_bn(f"{tv}.1", f"{tv}.2", f"{ours}.project")
            else:
                conv_bn(f"{tv}.0.0", f"{tv}.0.1", f"{ours}.expand")
                conv_bn(f"{tv}.1.0", f"{tv}.1.1", f"{ours}.dw")
                conv_bn(f"{tv}.2", f"{tv}.3", f"{ours}.project")
        names["classifier.1.weight"] = "classifier.fc.weight"
        names["classifier.1.bias"] = "classifier.fc.bias"
    else:
        conv_bn("conv1", "bn1", "features.0.conv")
        unit = 1
        for layer in ("layer1", "layer2", "layer3", "layer4"):
            for j, block in enumerate(getattr(model, layer)):
                tv = f"{layer}.{j}"
                ours = f"features.{unit}"
                for c in (1, 2, 3):
                    if hasattr(block, f"conv{c}"):
                        conv_bn(f"{tv}.conv{c}", f"{tv}.bn{c}", f"{ours}.c{c}")
                if block.downsample is not None:
                    conv_bn(f"{tv}.downsample.0", f"{tv}.downsample.1", f"{ours}.down")
                unit += 1
        names["fc.weight"] = "classifier.fc.weight"
        names["fc.bias"] = "classifier.fc.bias"
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", required=True, choices=ARCHS)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--weights", help="torchvision weights file on this disk")
    src.add_argument("--random-init", action="store_true", help="random init (tests)")
    ap.add_argument("--seed", type=int, default=0, help="seed of --random-init")
    ap.add_argument("--num-classes", type=int, default=None,
                    help="classes of the model (default: from --weights, else 1000)")
    ap.add_argument("--width-mult", type=float, default=1.0, help="mobilenet_v2 width multiplier")
    ap.add_argument("--in-channels", type=int, default=3, choices=(1, 3),
                    help="1: sum the stem's RGB filters for grayscale input")
    ap.add_argument("--out", required=True, help="output file for model.pretrained")
    ap.add_argument("--reference", help="also write {input, logits} of the torchvision model "
                                         "in eval mode (parity tests)")
    ap.add_argument("--reference-size", type=int, default=64)
    ap.add_argument("--reference-batch", type=int, default=2)
    ap.add_argument("--randomize-bn", action="store_true",
                    help="random BatchNorm statistics (so parity tests exercise them)")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    state = load_state(args.weights) if args.weights else None
    classes = args.num_classes
    if classes is None:
        fc = "classifier.1.weight" if args.arch == "mobilenet_v2" else "fc.weight"
        classes = state[fc].shape[0] if state is not None and fc in state else 1000
    model = build(args.arch, classes, args.width_mult)
    if state is not None:
        result = model.load_state_dict(state, strict=False)
        if result.missing_keys or result.unexpected_keys:
            sys.exit(f"export_torchvision.py: {args.weights} does not fit torchvision {args.arch}: "
                     f"missing {result.missing_keys[:10]}, unexpected {result.unexpected_keys[:10]}")
    if args.randomize_bn:
        g = torch.Generator().manual_seed(args.seed + 1)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    model.eval()

    names = isplitee_names(args.arch, model)
    sd = model.state_dict()
    missing = sorted(set(sd) - set(names))
    if missing:
        sys.exit(f"export_torchvision.py: no isplitee name for {missing[:10]} (torchvision changed?)")
    out_state = {}
    for k, v in sd.items():
        v = v.detach().clone().contiguous()
        if args.in_channels == 1 and names[k] == "features.0.conv.0.weight":
            v = v.sum(dim=1, keepdim=True).contiguous()
        out_state[names[k]] = v
    meta = {"format": "isplitee-torchvision", "format_version": 1, "arch": args.arch,
            "num_classes": classes, "width_mult": args.width_mult, "in_channels": args.in_channels,
            "source": args.weights or f"random-init seed {args.seed}",
            "torchvision_version": torchvision.__version__}
    # The README's --out models/…: create the folder; write under a temporary name, then rename.
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.save({"isplitee": json.dumps(meta), "state": out_state}, args.out + ".part")
    os.replace(args.out + ".part", args.out)

    if args.reference:
        g = torch.Generator().manual_seed(args.seed + 2)
        x = torch.randn(args.reference_batch, 3, args.reference_size, args.reference_size, generator=g)
        # A grayscale image through summed RGB filters equals the image repeated on 3 channels.
        x3 = x[:, :1].expand(-1, 3, -1, -1).contiguous() if args.in_channels == 1 else x
        if args.in_channels == 1:
            x = x[:, :1].contiguous()
        with torch.no_grad():
            y = model(x3)
        torch.save({"input": x.contiguous(), "logits": y.contiguous()}, args.reference)
    print(f"wrote {args.out}: {args.arch}, {classes} classes, {len(out_state)} tensors", file=sys.stderr)


if __name__ == "__main__":
    main()
