"""Compute-unit advice: from a model's results across the farm, the fastest compute-unit
setting that passed parity and budgets per device product × iOS major version, as JSON
(:class:`Advice`) and as Swift an app compiles in (:func:`render_swift`)."""

from orchestrator.advice.compute import Advice, DeviceAdvice, SettingOutcome, advise, ios_major
from orchestrator.advice.gather import advice_for
from orchestrator.advice.swift import render_swift

__all__ = [
    "Advice",
    "DeviceAdvice",
    "SettingOutcome",
    "advice_for",
    "advise",
    "ios_major",
    "render_swift",
]
