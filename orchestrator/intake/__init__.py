"""Model intake: locate, convert, inspect and store the model a user hands Pomar.

Public API::

    result = intake_model("examples/cnn.py:build", store, cache_dir, ConversionOptions())
    result.model      # ModelRef: sha256, interface read from the spec, op list
    result.path       # local .mlpackage / .mlmodel
    result.module     # the torch module for the reference (None for bare Core ML)

Only this package imports coremltools for conversion and inspection, and it translates every
coremltools/torch exception into :class:`~pomar_core.errors.ModelError` or
:class:`~pomar_core.errors.ConversionError`.
"""

from orchestrator.intake.convert import ConversionOptions, FrontEnd
from orchestrator.intake.inspect import ModelInterface, inspect_model
from orchestrator.intake.locate import ModelSource, locate
from orchestrator.intake.model_intake import IntakeResult, intake_model

__all__ = [
    "ConversionOptions",
    "FrontEnd",
    "IntakeResult",
    "ModelInterface",
    "ModelSource",
    "inspect_model",
    "intake_model",
    "locate",
]
