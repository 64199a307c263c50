"""A running instance of a service as the registry knows it.

Values only (``@frozen``): a load report is a new instance value (``attrs.evolve``) given to
``ServiceRegistry.update``.  Names and ids become parts of registry keys, so they are restricted to
``[A-Za-z0-9._-]`` (1-64 characters).
"""

from __future__ import annotations

import math
import re

from attrs import field, frozen

from domain.discovery.errors import InvalidInstance

_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_ADDRESS = 256


def _name(_instance: object, attribute: object, value: object) -> None:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidInstance(f"{getattr(attribute, 'name', 'name')} must be 1-64 of [A-Za-z0-9._-]",
                              value=str(value)[:80])


def _address(_instance: object, attribute: object, value: object) -> None:
    if not isinstance(value, str) or len(value) > MAX_ADDRESS or any(c.isspace() for c in value):
        raise InvalidInstance(f"{getattr(attribute, 'name', 'address')} must be an address without spaces "
                              f"of at most {MAX_ADDRESS} characters")


def is_valid_name(value: object) -> bool:
    return isinstance(value, str) and _NAME.fullmatch(value) is not None


@frozen
class InstanceLoad:
    """What an instance reports about itself: media streams it forwards and its CPU use as a fraction
    of its host (0.0-1.0)."""

    streams: int = 0
    cpu: float = 0.0

    def __attrs_post_init__(self) -> None:
        if isinstance(self.streams, bool) or not isinstance(self.streams, int) or self.streams < 0:
            raise InvalidInstance("streams must be a whole number >= 0")
        if (isinstance(self.cpu, bool) or not isinstance(self.cpu, (int, float)) or math.isnan(self.cpu)
                or not 0.0 <= self.cpu <= 1.0):
            raise InvalidInstance("cpu must be a fraction between 0 and 1")


@frozen
class ServiceInstance:
    """One process of a service.  ``http``/``grpc`` are where it listens ("" when it does not);
    a ``draining`` instance finishes its work but takes nothing new (balancers skip it)."""

    service: str = field(validator=_name)
    instance_id: str = field(validator=_name)
    http: str = field(default="", validator=_address)
    grpc: str = field(default="", validator=_address)
    load: InstanceLoad = field(factory=InstanceLoad)
    draining: bool = False


@frozen
class ServiceSnapshot:
    """Every live instance of one service at a registry ``revision`` (which only grows, and is
    comparable only between snapshots of one registry); instances sorted by ``instance_id``."""

    service: str
    instances: tuple[ServiceInstance, ...]
    revision: int

    def get(self, instance_id: str) -> ServiceInstance | None:
        return next((i for i in self.instances if i.instance_id == instance_id), None)
