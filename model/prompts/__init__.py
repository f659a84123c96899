"""Prompts: one click, a shift+click or a box turned into an object's mask by a promptable model
of the SAM family, run in this process by osam (ONNX Runtime). No SAM code of our own."""
