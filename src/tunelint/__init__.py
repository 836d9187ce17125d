"""tunelint: lint and clean LLM fine-tuning datasets."""

__version__ = "0.1.0"
