"""The official StarGAN networks (yunjey/stargan model.py) rebuilt in PyTorch for tests.

Same module tree, hence the same state-dict names and shapes, as the official code:
G is one ``nn.Sequential`` called ``main`` whose residual blocks have their own
``main``; D has ``main`` plus the heads ``conv1`` (real/fake) and ``conv2`` (classes).
"""

from __future__ import annotations

import torch
from torch import nn


def _norm(channels: int) -> nn.InstanceNorm2d:
    return nn.InstanceNorm2d(channels, affine=True, track_running_stats=True)


class OfficialResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), _norm(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), _norm(channels))

    def forward(self, x):
        return x + self.main(x)


class OfficialGenerator(nn.Module):
    def __init__(self, conv_dim: int = 64, c_dim: int = 5, repeat_num: int = 6):
        super().__init__()
        width = conv_dim
        stack = [nn.Conv2d(3 + c_dim, width, 7, 1, 3, bias=False), _norm(width), nn.ReLU()]
        for _ in range(2):
            stack += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), _norm(width * 2),
                      nn.ReLU()]
            width *= 2
        stack += [OfficialResidualBlock(width) for _ in range(repeat_num)]
        for _ in range(2):
            stack += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                      _norm(width // 2), nn.ReLU()]
            width //= 2
        stack += [nn.Conv2d(width, 3, 7, 1, 3, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*stack)

    def forward(self, x, c):
        tiled = c[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        return self.main(torch.cat([x, tiled], dim=1))


class OfficialDiscriminator(nn.Module):
    def __init__(self, image_size: int = 128, conv_dim: int = 64, c_dim: int = 5,
                 repeat_num: int = 6):
        super().__init__()
        stack, width, channels = [], conv_dim, 3
        for _ in range(repeat_num):
            stack += [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.01)]
            channels, width = width, width * 2
        self.main = nn.Sequential(*stack)
        self.conv1 = nn.Conv2d(channels, 1, 3, 1, 1, bias=False)
        self.conv2 = nn.Conv2d(channels, c_dim, image_size // 2**repeat_num, bias=False)

    def forward(self, x):
        h = self.main(x)
        return self.conv1(h), self.conv2(h).flatten(1)


def randomize(module: nn.Module, seed: int) -> nn.Module:
    """Random weights everywhere, including non-trivial norm scales, offsets and running
    statistics (so eval mode, which would read them, differs from train mode)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if not tensor.is_floating_point():
                tensor.fill_(1000)  # num_batches_tracked
            elif name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) * 3 + 0.5)
            elif name.endswith(".weight") and tensor.ndim == 1:  # norm scale
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            else:
                fan_in = tensor[0].numel() if tensor.ndim > 1 else 1
                tensor.copy_(torch.randn(tensor.shape, generator=generator) / fan_in**0.5)
    return module
