"""Small models built in code, each made to trip one preflight finding."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

FP32_MIN = torch.finfo(torch.float32).min


class _Lgamma(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.lgamma(x.abs() + 1.0)


class Unconvertible(nn.Module):
    """lgamma has no coremltools converter; it sits at ``block.1`` in the module tree."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.block = nn.Sequential(nn.ReLU(), _Lgamma())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.block(self.fc(x))
        return out


class LoudLayerNorm(nn.Module):
    """``loud`` (up to ~100) fits half, but the layer norm's sum of squared deviations over 64
    features does not, although its normalised output is small; ``loud × 1024`` overflows."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(64, 64)
        self.norm = nn.LayerNorm(64)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        loud = self.fc(x) * 64.0
        return self.norm(loud), loud * 1024.0


class MaskedAttention(nn.Module):
    """Causal attention whose additive mask is built from the float32 minimum (HF eager style)."""

    def __init__(self, length: int = 8, dim: int = 16) -> None:
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        mask = torch.triu(torch.full((length, length), FP32_MIN), diagonal=1)
        self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        scores = q @ k.transpose(-1, -2) / 4.0 + self.mask
        out: torch.Tensor = torch.softmax(scores, dim=-1) @ v
        return out


class DilatedConvs(nn.Module):
    """Two dilated 3×3 convolutions (dilation 2 and 4)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(4, 16, 3, padding=2, dilation=2)
        self.b = nn.Conv2d(16, 12, 3, padding=4, dilation=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.b(torch.relu(self.a(x)))
        return out


def build_unconvertible() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return Unconvertible().eval(), (torch.rand(1, 8),)


def build_loud_layer_norm() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return LoudLayerNorm().eval(), (torch.rand(1, 4, 64),)


def build_masked_attention() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return MaskedAttention().eval(), (torch.rand(1, 8, 16),)


def build_dilated() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return DilatedConvs().eval(), (torch.rand(1, 4, 24, 24),)


def save_huge_activation_program(path: Path) -> Path:
    """An ML program with tiny weights whose one intermediate is 2 GiB in fp16.

    Built with the MIL builder, so nothing of that size is ever allocated: preflight estimates
    it from shapes alone. x (128 MiB) is tiled 4×4 into 2 GiB, then averaged away.
    """
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import types

    from orchestrator.intake.quiet import captured_stderr

    @mb.program(  # type: ignore[untyped-decorator]
        input_specs=[mb.TensorSpec(shape=(1, 64, 1024, 1024), dtype=types.fp16)],
        opset_version=ct.target.iOS16,
    )
    def program(x: object) -> object:
        return mb.reduce_mean(x=mb.tile(x=x, reps=[1, 1, 4, 4]), axes=[2, 3])

    with captured_stderr():
        model = ct.convert(
            program, convert_to="mlprogram", minimum_deployment_target=ct.target.iOS16
        )
        model.save(str(path))
    return path


class Underflow(nn.Module):
    """Scales activations to ~1e-9 (below half's smallest subnormal) and back."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tiny = x * 1e-9
        out: torch.Tensor = tiny * 1e9
        return out


class TorchRMSNorm(nn.Module):
    """``nn.RMSNorm``, which coremltools 9.0 lowers as x / max|x| with a rescaled eps."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.RMSNorm(16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.norm(x)
        return out


def build_underflow() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    return Underflow().eval(), (torch.rand(1, 64) + 0.5,)


def build_torch_rms_norm() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return TorchRMSNorm().eval(), (torch.rand(1, 4, 16),)
