"""An image classifier (PyTorch training, ONNX export) and its prediction service (ONNX Runtime)."""
