"""Image inputs: the program sees pixel values 0..255 and applies the model's scale and bias."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from coreml_emulator import predict
from pomar_core.errors import ModelError


class Head(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x)).mean(dim=(2, 3))


@pytest.fixture(scope="module")
def image_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import coremltools as ct

    module = Head().eval()
    example = torch.rand(1, 3, 8, 8)
    mlmodel = ct.convert(
        torch.jit.trace(module, example),
        inputs=[ct.ImageType(name="image", shape=(1, 3, 8, 8), scale=1 / 255.0)],
        convert_to="mlprogram",
        compute_precision=ct.precision.FLOAT32,
    )
    path = tmp_path_factory.mktemp("image") / "head.mlpackage"
    mlmodel.save(str(path))
    return path


def test_an_image_input_takes_pixels_and_matches_torch_on_the_scaled_values(
    image_model: Path,
) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (1, 3, 8, 8), dtype=np.uint8)
    (out,) = predict(image_model, {"image": pixels}).values()
    with torch.no_grad():
        expected = Head().eval()(torch.from_numpy(pixels.astype(np.float32) / 255.0)).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_an_image_output_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    import coremltools as ct

    class Identity(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 1.0

    example = torch.rand(1, 3, 4, 4)
    mlmodel = ct.convert(
        torch.jit.trace(Identity().eval(), example),
        inputs=[ct.ImageType(name="image", shape=(1, 3, 4, 4))],
        outputs=[ct.ImageType(name="out")],
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS16,
    )
    path = tmp_path / "identity.mlpackage"
    mlmodel.save(str(path))
    with pytest.raises(ModelError, match="multi-array outputs"):
        predict(path, {"image": np.zeros((1, 3, 4, 4), np.uint8)})
