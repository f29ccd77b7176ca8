"""A small image classifier: conv, batch norm, ReLU, pooling, linear and a softmax head."""

from __future__ import annotations

import torch
from torch import nn


class SmallCNN(nn.Module):
    """Two conv blocks and a linear classifier over 10 classes."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, kernel_size=3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, kernel_size=3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.AvgPool2d(2),
        )
        self.classifier = nn.Linear(16 * 8 * 8, num_classes)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.features(image)
        x = torch.flatten(x, 1)
        return torch.softmax(self.classifier(x), dim=-1)


def build() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """The CNN with fixed weights and a 1x3x32x32 example image."""
    torch.manual_seed(0)
    model = SmallCNN()
    # Non-trivial running statistics, so batch norm is not an identity after conversion.
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                assert module.running_mean is not None
                assert module.running_var is not None
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 1.5)
    model.eval()
    return model, (torch.rand(1, 3, 32, 32),)
