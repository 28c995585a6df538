"""Bring your own model: PyTorch modules (incl. Hugging Face configs) and ONNX files -> Workload."""
