"""Errors of analysis and of the inference engine."""

from __future__ import annotations

from domain.shared.errors import InvalidArgument, Unavailable


class InferenceUnavailable(Unavailable):
    """No inference node serving the model is ready, or the call's deadline passed."""


class InvalidInput(InvalidArgument):
    """The input cannot be analysed (``reason`` says why: not audio, wrong rate, empty, too long...)."""
