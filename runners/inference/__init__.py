"""The model server: the project's model code bound into a real Triton Inference Server (PyTriton)."""
