from __future__ import annotations

from domain.shared.errors import NotFound, PermissionDenied


class DeadLetterNotFound(NotFound):
    pass


class AdministratorsOnly(PermissionDenied):
    code = "not_allowed"  # the code every administrators-only route answers with
