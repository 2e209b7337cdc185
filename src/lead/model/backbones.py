"""Image / LiDAR encoders in plain torch.nn (the CPU wheels have no torchvision).

ResNet-18/34 are torchvision's networks (BasicBlock, same module names, so a torchvision
state dict without `fc.*` loads); RegNetY is timm's `regnety_032` family, widths and depths
generated from (w0, wa, wm, depth, group size) as in the RegNet paper. Every backbone exposes
`stem(x)` and four `stages`, with `channels` and `reductions` of the stage outputs, which is
what the TransFuser fusion needs (LEAD drives timm's `features_only` models the same way).
"""
from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn

# timm's regnety_032: RegNetCfg(w0=80, wa=42.63, wm=2.66, group_size=24, depth=21, se_ratio=0.25)
REGNETY_032 = dict(w0=80, wa=42.63, wm=2.66, depth=21, group_size=24, se_ratio=0.25)
RESNET_DEPTHS = {"resnet18": (2, 2, 2, 2), "resnet34": (3, 4, 6, 3)}


class Backbone(nn.Module):
    channels: list[int]
    reductions: list[int]

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @property
    def stages(self) -> list[nn.Module]:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """All four stage outputs (used on its own, without fusion)."""
        x = self.stem(x)
        out = []
        for stage in self.stages:
            x = stage(x)
            out.append(x)
        return out


def _init_conv_bn(module: nn.Module) -> None:
    # torchvision's init: He (fan_out) for convs, BN at identity
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(Backbone):
    def __init__(self, depths: tuple[int, int, int, int], in_channels: int = 3, width: float = 1.0) -> None:
        super().__init__()
        w = [max(8, int(round(c * width))) for c in (64, 128, 256, 512)]
        self.conv1 = nn.Conv2d(in_channels, w[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = w[0]
        for i, (n, cout) in enumerate(zip(depths, w)):
            first_stride = 1 if i == 0 else 2  # layer1 follows the max-pool
            blocks = [BasicBlock(cin if j == 0 else cout, cout, first_stride if j == 0 else 1) for j in range(n)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
            cin = cout
        self.channels = w
        self.reductions = [4, 8, 16, 32]
        _init_conv_bn(self)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    @property
    def stages(self) -> list[nn.Module]:
        return [self.layer1, self.layer2, self.layer3, self.layer4]


class ConvBN(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        if act:
            self.act = nn.ReLU(inplace=True)


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, reduced, 1)
        self.fc2 = nn.Conv2d(reduced, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))


class RegNetBlock(nn.Module):
    """Y block: 1x1, grouped 3x3 (stride), squeeze-excite (ratio of the block input), 1x1."""

    def __init__(self, cin: int, cout: int, stride: int, group_size: int, se_ratio: float) -> None:
        super().__init__()
        self.conv1 = ConvBN(cin, cout, 1)
        self.conv2 = ConvBN(cout, cout, 3, stride, groups=cout // group_size)
        self.se = SqueezeExcite(cout, int(round(cin * se_ratio)))
        self.conv3 = ConvBN(cout, cout, 1, act=False)
        self.downsample = ConvBN(cin, cout, 1, stride, act=False) if (stride != 1 or cin != cout) else None
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.act(self.conv3(self.se(self.conv2(self.conv1(x)))) + shortcut)


def regnet_widths(w0: float, wa: float, wm: float, depth: int, group_size: int,
                  width: float = 1.0) -> tuple[list[int], list[int], list[int]]:
    """Stage widths, depths and group sizes of a RegNet (linear widths quantised to powers of wm)."""
    ws_cont = [w0 + wa * i for i in range(depth)]
    ks = [round(math.log(w / w0) / math.log(wm)) for w in ws_cont]
    ws = [int(round(w0 * wm**k / 8) * 8) for k in ks]
    widths, depths = [], []
    for w in ws:
        if widths and widths[-1] == w:
            depths[-1] += 1
        else:
            widths.append(w)
            depths.append(1)
    widths = [w * width for w in widths]
    groups = [min(group_size, int(w)) for w in widths]
    widths = [max(g, int(round(w / g) * g)) for w, g in zip(widths, groups)]
    return widths, depths, groups


class RegNetY(Backbone):
    def __init__(self, w0: float, wa: float, wm: float, depth: int, group_size: int, se_ratio: float,
                 in_channels: int = 3, width: float = 1.0, stem_width: int = 32) -> None:
        super().__init__()
        widths, depths, groups = regnet_widths(w0, wa, wm, depth, group_size, width)
        if len(widths) != 4:
            raise ValueError(f"RegNet parameters give {len(widths)} stages, the fusion needs 4")
        self.stem_conv = ConvBN(in_channels, stem_width, 3, 2)
        cin = stem_width
        for i, (w, d, g) in enumerate(zip(widths, depths, groups)):
            blocks = {f"b{j + 1}": RegNetBlock(cin if j == 0 else w, w, 2 if j == 0 else 1, g, se_ratio)
                      for j in range(d)}
            setattr(self, f"s{i + 1}", nn.Sequential(OrderedDict(blocks)))
            cin = w
        self.channels = widths
        self.reductions = [4, 8, 16, 32]
        _init_conv_bn(self)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.stem_conv(x)

    @property
    def stages(self) -> list[nn.Module]:
        return [self.s1, self.s2, self.s3, self.s4]


def build_backbone(arch: str, in_channels: int = 3, width: float = 1.0) -> Backbone:
    """resnet18 | resnet34 | regnety_032 with `in_channels` inputs and a channel multiplier."""
    if arch in RESNET_DEPTHS:
        return ResNet(RESNET_DEPTHS[arch], in_channels, width)
    if arch == "regnety_032":
        return RegNetY(**REGNETY_032, in_channels=in_channels, width=width)
    raise ValueError(f"unknown backbone '{arch}' (known: resnet18, resnet34, regnety_032)")
