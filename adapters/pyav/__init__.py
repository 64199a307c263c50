"""Media decoding and encoding with PyAV (FFmpeg)."""
