"""WebM files of encoded VP8 + Opus (PyAV, no decode): streamed muxing, chunked uploads, rebuilding."""
