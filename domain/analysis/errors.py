"""Errors of analysis and of the inference engine."""

from __future__ import annotations

from domain.shared.errors import DomainError, ErrorKind, InvalidArgument, NotFound, PermissionDenied, RateLimited, \
    Unavailable


class InferenceUnavailable(Unavailable):
    """No inference node serving the model is ready, or the call's deadline passed."""


class InvalidInput(InvalidArgument):
    """The input cannot be analysed (``reason`` says why: not audio, wrong rate, empty, too long...)."""


class AnalysisNotFound(NotFound):
    """No analysis has this id (or the caller may not know that it exists)."""


class AnalysisNotAllowed(PermissionDenied):
    """The caller may not analyse this input or read this result (``reason`` says which rule)."""


class InputTooLarge(InvalidInput):
    """More bytes or seconds than the limits allow (``limit`` and ``got`` say by how much)."""


class NoOutput(NotFound):
    """The analysis has no downloadable output (its kind makes none, or it has not completed)."""


class AnalysisQueueFull(RateLimited):
    """Too many long analyses are waiting; try again later."""


class RecordingFileNotFound(NotFound):
    """No such recording, or it has no file under this key."""


class FeatureNotOffered(DomainError):
    """The analysis is deliberately not offered (``reason`` says why): FAILED_PRECONDITION, not a fault.

    Synthetic-speech detection is refused this way: no trained detector exists among the packaged
    models, and the best hand-made baseline measured here flagged up to 44 % of human clips from
    unseen sources as synthetic.
    """

    kind = ErrorKind.FAILED_PRECONDITION
