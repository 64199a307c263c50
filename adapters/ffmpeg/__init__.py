"""Debian's ffmpeg as a subprocess: the after-meeting processing of recordings."""
