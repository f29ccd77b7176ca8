"""Emulator fp32 vs PyTorch eager on the example CNN and transformer, same thread count.

    python benchmarks/bench_emulator.py [--threads N] [--iterations N]

Prints the median time per prediction of each and the ratio (target: emulator ≤ 2× eager), and
``coreml_emulator.predict(mlmodel, ...)`` — the ``MLModel.predict`` stand-in, which finds the
parsed program in its content-keyed cache — against ``load_program(...).predict``.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

# The example models live in the repository, not the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _median_seconds(fn: Callable[[], object], iterations: int) -> float:
    for _ in range(max(3, iterations // 10)):
        fn()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _convert(module: torch.nn.Module, example: tuple[torch.Tensor, ...]) -> object:
    import coremltools as ct

    traced = torch.jit.trace(module, example)
    return ct.convert(
        traced,
        inputs=[ct.TensorType(name=f"input_{i}", shape=t.shape) for i, t in enumerate(example)],
        convert_to="mlprogram",
        compute_precision=ct.precision.FLOAT32,
        minimum_deployment_target=ct.target.iOS16,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=200)
    options = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(options.threads)

    from coreml_emulator import load_program, predict

    print(f"threads={options.threads} iterations={options.iterations}")
    print(f"{'model':<14}{'eager ms':>10}{'emulator ms':>13}{'ratio':>8}{'predict()':>11}")
    for name in ("examples.cnn", "examples.transformer"):
        module, example = importlib.import_module(name).build()
        module.eval()
        mlmodel = _convert(module, example)
        program = load_program(mlmodel)
        feeds = {f"input_{i}": t.numpy() for i, t in enumerate(example)}
        with torch.inference_mode():
            eager = _median_seconds(lambda m=module, e=example: m(*e), options.iterations)
        emulated = _median_seconds(lambda p=program, f=feeds: p.predict(f), options.iterations)
        # The stand-in for MLModel.predict: the model itself each call, parsed once.
        standin = _median_seconds(lambda m=mlmodel, f=feeds: predict(m, f), options.iterations)
        reference = module(*example).detach().numpy()
        (output,) = program.predict(feeds).values()
        error = float(np.linalg.norm(output - reference) / np.linalg.norm(reference))
        print(
            f"{name.split('.')[-1]:<14}{eager * 1e3:>10.3f}{emulated * 1e3:>13.3f}"
            f"{emulated / eager:>7.2f}x{standin / emulated:>10.2f}x"
            f"   (rel L2 vs eager {error:.1e}; predict(mlmodel) vs load_program().predict)"
        )


if __name__ == "__main__":
    main()
