"""MobileNetV2 in plain torch.nn, with exactly torchvision's module layout and state-dict keys.

torchvision is not needed: `MobileNetV2().load_state_dict(sd, strict=True)` accepts a state dict
saved from `torchvision.models.mobilenet_v2()` (keys `features.0.0.weight` ... `classifier.1.bias`).
The definition follows torchvision/models/mobilenetv2.py (width 1.0, ReLU6, dropout 0.2).

    load_model(path)        -> eval-mode MobileNetV2 with the weights of a .pth state dict
    load_model('download')  -> the same with torchvision's official IMAGENET1K_V1 weights (internet)
"""
from __future__ import annotations

import os
from typing import Callable, List, Optional

import torch
from torch import Tensor, nn

# torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1 (top-1 71.878 % on ImageNet val).
WEIGHTS_URL = 'https://download.pytorch.org/models/mobilenet_v2-b0353104.pth'


def _make_divisible(v: float, divisor: int, min_value: Optional[int] = None) -> int:
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:  # do not round down by more than 10 %
        new_v += divisor
    return new_v


class Conv2dNormActivation(nn.Sequential):
    """Conv2d (no bias) -> BatchNorm2d -> ReLU6, as torchvision.ops.Conv2dNormActivation: keys 0, 1."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 groups: int = 1, norm_layer: Optional[Callable[..., nn.Module]] = None,
                 activation_layer: Optional[Callable[..., nn.Module]] = nn.ReLU6) -> None:
        padding = (kernel_size - 1) // 2
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        layers: List[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=False),
            norm_layer(out_channels),
        ]
        if activation_layer is not None:
            layers.append(activation_layer(inplace=True))
        super().__init__(*layers)
        self.out_channels = out_channels


class InvertedResidual(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int,
                 norm_layer: Optional[Callable[..., nn.Module]] = None) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'stride should be 1 or 2 instead of {stride}')
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup

        layers: List[nn.Module] = []
        if expand_ratio != 1:  # pointwise expansion
            layers.append(Conv2dNormActivation(inp, hidden_dim, kernel_size=1, norm_layer=norm_layer))
        layers.extend([
            # depthwise
            Conv2dNormActivation(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim, norm_layer=norm_layer),
            # pointwise linear projection
            nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
            norm_layer(oup),
        ])
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup
        self._is_cn = stride > 1

    def forward(self, x: Tensor) -> Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, round_nearest: int = 8,
                 dropout: float = 0.2) -> None:
        super().__init__()
        input_channel = 32
        last_channel = 1280
        # t (expansion), c (channels), n (repeats), s (first stride)
        inverted_residual_setting = [
            [1, 16, 1, 1],
            [6, 24, 2, 2],
            [6, 32, 3, 2],
            [6, 64, 4, 2],
            [6, 96, 3, 1],
            [6, 160, 3, 2],
            [6, 320, 1, 1],
        ]
        input_channel = _make_divisible(input_channel * width_mult, round_nearest)
        self.last_channel = _make_divisible(last_channel * max(1.0, width_mult), round_nearest)
        features: List[nn.Module] = [Conv2dNormActivation(3, input_channel, stride=2)]
        for t, c, n, s in inverted_residual_setting:
            output_channel = _make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                stride = s if i == 0 else 1
                features.append(InvertedResidual(input_channel, output_channel, stride, expand_ratio=t))
                input_channel = output_channel
        features.append(Conv2dNormActivation(input_channel, self.last_channel, kernel_size=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(self.last_channel, num_classes))

        for m in self.modules():  # torchvision's initialisation (overwritten by any loaded weights)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out')
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
        x = torch.flatten(x, 1)
        return self.classifier(x)


def repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


DEFAULT_WEIGHTS = os.path.join(repo_root(), '..', 'shared', 'model', 'mobilenet_v2_float32.pth')


def download_state_dict(url: str = WEIGHTS_URL) -> dict:
    """torchvision's official IMAGENET1K_V1 weights, downloaded once into torch.hub's cache
    (~/.cache/torch/hub/checkpoints), the file's sha256 prefix checked. Needs internet."""
    return torch.hub.load_state_dict_from_url(url, map_location='cpu', progress=True, check_hash=True)


def build_model(use_torchvision: bool = False) -> nn.Module:
    """This file's MobileNetV2, or torchvision's own when asked for and importable."""
    if use_torchvision:
        try:
            import torchvision  # noqa: F401  (optional; often absent or mismatched)
            return torchvision.models.mobilenet_v2(weights=None)
        except Exception as e:  # ImportError, or a torch/torchvision version mismatch
            print(f'torchvision unusable ({type(e).__name__}: {e}); using scripts/export/mobilenet_v2.py')
    return MobileNetV2()


def load_model(weights: str = DEFAULT_WEIGHTS, use_torchvision: bool = False) -> nn.Module:
    """Eval-mode MobileNetV2 with `weights`: a state-dict .pth path, or 'download'."""
    if weights == 'download':
        state_dict = download_state_dict()
    else:
        if not os.path.isfile(weights):
            raise FileNotFoundError(f'weights not found: {weights} (pass --weights PATH or --weights download)')
        state_dict = torch.load(weights, map_location='cpu', weights_only=True)
    model = build_model(use_torchvision)
    model.load_state_dict(state_dict, strict=True)
    return model.eval()


def add_weights_args(parser) -> None:
    parser.add_argument('--weights', default=DEFAULT_WEIGHTS,
                        help="state-dict .pth with torchvision's keys, or 'download' for torchvision's "
                             f'IMAGENET1K_V1 weights from {WEIGHTS_URL} (default: %(default)s)')
    parser.add_argument('--torchvision', action='store_true',
                        help='build the network with torchvision.models.mobilenet_v2 if it imports')


if __name__ == '__main__':
    m = load_model()
    print(m.__class__.__name__, sum(p.numel() for p in m.parameters()), 'parameters, weights loaded strictly')
