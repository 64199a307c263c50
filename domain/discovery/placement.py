"""Which instance of a service to use.  Pure: the caller passes the instances it knows (a registry
snapshot) and gets one back, or ``NoInstanceAvailable``.  Draining instances are never chosen.

- ``least_loaded``: the instance with the fewest streams, then the lowest CPU, then the smallest id
  (deterministic); instances at or over ``cpu_limit`` are chosen only when every candidate is.
- ``media_node``: where a new room's media goes (issue 14): the least loaded media node that serves
  gRPC, is not draining and is not one of ``avoid`` (a node just lost).
- ``RoundRobin``: takes turns over the candidates in id order, resuming after the last one it chose,
  so a changing membership neither skips nor repeats the instances that stay.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from attrs import define

from domain.discovery.errors import NoInstanceAvailable
from domain.discovery.model import ServiceInstance


def candidates(instances: Iterable[ServiceInstance]) -> list[ServiceInstance]:
    """The instances that may take new work, in id order."""
    return sorted((i for i in instances if not i.draining), key=lambda i: i.instance_id)


def _none_for(service: str) -> NoInstanceAvailable:
    return NoInstanceAvailable(f"no instance of {service or 'the service'} can take work", service=service)


def least_loaded(instances: Iterable[ServiceInstance], *, service: str = "",
                 cpu_limit: float = 0.9) -> ServiceInstance:
    ready = candidates(instances)
    if not ready:
        raise _none_for(service)
    return min(ready, key=lambda i: (i.load.cpu >= cpu_limit, i.load.streams, i.load.cpu, i.instance_id))


def media_node(instances: Iterable[ServiceInstance], *, avoid: Collection[str] = (),
               service: str = "media") -> ServiceInstance:
    return least_loaded([i for i in instances if i.grpc and i.instance_id not in avoid], service=service)


@define
class RoundRobin:
    last: str | None = None

    def pick(self, instances: Iterable[ServiceInstance], *, service: str = "") -> ServiceInstance:
        ready = candidates(instances)
        if not ready:
            raise _none_for(service)
        chosen = next((i for i in ready if self.last is not None and i.instance_id > self.last), ready[0])
        self.last = chosen.instance_id
        return chosen
