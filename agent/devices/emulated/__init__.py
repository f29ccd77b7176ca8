"""The emulated device: the Core ML program run on the CPU by coreml_emulator."""
