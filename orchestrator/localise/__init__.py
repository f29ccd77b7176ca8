"""Localisation: when a device disagrees, which op it got wrong.

The failing run is re-run on the same device and compute unit with intermediate tensors exposed
as extra outputs (``variant.py``), cut where the compiler cannot fuse across (``graph.py``); each
exposed tensor is compared with the emulator's fp32 and fp16 values of it (``traces.py``) and the
search (``search.py``) bisects the op order for the first op whose output diverges beyond its
FP16 noise while its inputs do not. ``localiser.py`` drives it through the farm; the outcome is
the failing run's ``RunResult.localisation``.
"""

from orchestrator.localise.localiser import LOCALISED_TRIAGE, LocalisePolicy, Localiser
from orchestrator.localise.wait import current_localisation, wait_for_localisation

__all__ = [
    "LOCALISED_TRIAGE",
    "LocalisePolicy",
    "Localiser",
    "current_localisation",
    "wait_for_localisation",
]
