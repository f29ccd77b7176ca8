"""coremltools' own torch-op suite run with the emulator standing in for ``MLModel.predict``."""
