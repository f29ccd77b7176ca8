"""The host Mac as a device: Core ML through coremltools, measured like the iPhone harness.

``coreml`` is the only module that touches coremltools' Core ML bindings (macOS only); the
compute-unit mapping, the timing loop, memory sampling and outcome building run anywhere.
"""
