"""The balancing policy (domain/discovery/placement.py), as properties over any set of instances."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.discovery.errors import InvalidInstance, NoInstanceAvailable
from domain.discovery.model import InstanceLoad, ServiceInstance
from domain.discovery.placement import RoundRobin, candidates, least_loaded

loads = st.builds(InstanceLoad, streams=st.integers(0, 50), cpu=st.floats(0, 1, allow_nan=False))
one_instance = st.builds(ServiceInstance, service=st.just("media"),
                         instance_id=st.text("abcdef0123", min_size=1, max_size=4),
                         load=loads, draining=st.booleans())
instance_sets = st.lists(one_instance, max_size=8, unique_by=lambda i: i.instance_id)


@given(instance_sets)
def test_least_loaded_picks_a_non_draining_instance_no_other_beats(instances):
    ready = [i for i in instances if not i.draining]
    if not ready:
        with pytest.raises(NoInstanceAvailable):
            least_loaded(instances)
        return
    chosen = least_loaded(instances, cpu_limit=0.9)
    assert chosen in ready
    for other in ready:
        if chosen.load.cpu >= 0.9:
            assert other.load.cpu >= 0.9  # an overloaded CPU only when every candidate is
        elif other.load.cpu < 0.9:
            assert (chosen.load.streams, chosen.load.cpu) <= (other.load.streams, other.load.cpu)


@given(instance_sets)
def test_least_loaded_does_not_depend_on_the_order_instances_come_in(instances):
    if any(not i.draining for i in instances):
        assert least_loaded(instances) == least_loaded(list(reversed(instances)))


@given(instance_sets, st.integers(1, 4))
def test_round_robin_gives_every_ready_instance_one_turn_per_round(instances, rounds):
    ready = candidates(instances)
    robin = RoundRobin()
    if not ready:
        with pytest.raises(NoInstanceAvailable):
            robin.pick(instances)
        return
    picks = [robin.pick(instances).instance_id for _ in range(rounds * len(ready))]
    assert sorted(picks) == sorted([i.instance_id for i in ready] * rounds)
    assert all(a != b for a, b in zip(picks, picks[1:])) or len(ready) == 1


@given(instance_sets, instance_sets)
def test_round_robin_over_a_changing_membership_never_picks_what_it_was_not_given(before, after):
    robin = RoundRobin()
    for instances in (before, after, before):
        ready = candidates(instances)
        for _ in range(len(ready)):
            assert robin.pick(instances) in ready


@given(instance_sets)
def test_round_robin_resumes_after_its_last_pick_when_an_instance_leaves(instances):
    ready = candidates(instances)
    if len(ready) < 3:
        return
    robin = RoundRobin()
    first = robin.pick(ready)
    remaining = [i for i in ready if i != ready[1]]  # the next in line leaves
    assert robin.pick(remaining) == ready[2]
    assert first == ready[0]


def test_malformed_instances_and_load_reports_are_rejected():
    for make in (lambda: ServiceInstance("bad/name", "a"), lambda: ServiceInstance("s", ""),
                 lambda: ServiceInstance("s", "a", http="has space"), lambda: InstanceLoad(streams=-1),
                 lambda: InstanceLoad(cpu=1.5), lambda: InstanceLoad(cpu=float("nan"))):
        with pytest.raises(InvalidInstance):
            make()
