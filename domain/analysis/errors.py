"""Errors of analysis and of the inference engine."""

from __future__ import annotations

from domain.shared.errors import DomainError, ErrorKind, InvalidArgument, Unavailable


class InferenceUnavailable(Unavailable):
    """No inference node serving the model is ready, or the call's deadline passed."""


class InvalidInput(InvalidArgument):
    """The input cannot be analysed (``reason`` says why: not audio, wrong rate, empty, too long...)."""


class FeatureNotOffered(DomainError):
    """The analysis is deliberately not offered (``reason`` says why): FAILED_PRECONDITION, not a fault.

    Synthetic-speech detection is refused this way: no trained detector exists among the packaged
    models, and the best hand-made baseline measured here flagged up to 44 % of human clips from
    unseen sources as synthetic.
    """

    kind = ErrorKind.FAILED_PRECONDITION
