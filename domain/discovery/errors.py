from __future__ import annotations

from domain.shared.errors import AlreadyExists, InvalidArgument, NotFound, Unavailable


class InvalidInstance(InvalidArgument):
    """A service name, instance id, address or load report that the registry cannot hold."""


class InstanceAlreadyRegistered(AlreadyExists):
    """A live instance with this service name and instance id is already registered."""


class InstanceNotRegistered(NotFound):
    """This registry client holds no live registration of the instance (never made, deregistered)."""


class NoInstanceAvailable(Unavailable):
    """Every known instance of the service is draining, or none is registered."""
