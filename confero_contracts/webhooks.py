"""WebhookStore contract: every semantic of ports/webhooks.py, run against each adapter."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from typing import Any

import pytest

from domain.shared.errors import AlreadyExists, ConcurrentModification
from domain.shared.ids import new_id
from domain.shared.pagination import PageRequest
from domain.webhooks.errors import WebhookDeliveryNotFound, WebhookEndpointNotFound
from domain.webhooks.model import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from ports.webhooks import WebhookStore
from confero_contracts.factories import at

_seq = itertools.count(1)
LEASE = dt.timedelta(minutes=2)


def an_endpoint(**overrides: Any) -> WebhookEndpoint:
    n = next(_seq)
    fields: dict[str, Any] = dict(id=new_id(), url=f"https://hooks{n}.example.com/in?x={n}",
                                  kinds=("meeting.ended", "meeting.started"), secret=f"whsec_{n}",
                                  description=f"Endpoint {n} — ünïcode", created_at=at(n), updated_at=at(n))
    fields.update(overrides)
    return WebhookEndpoint(**fields)


def a_delivery(endpoint_id: str, **overrides: Any) -> WebhookDelivery:
    n = next(_seq)
    event_id = new_id()
    fields: dict[str, Any] = dict(id=new_id(), endpoint_id=endpoint_id, event_id=event_id, kind="meeting.started",
                                  body='{"data":{"title":"Zoë"},"n":%d}' % n, dedupe_key=f"{endpoint_id}:{event_id}",
                                  next_attempt_at=at(0), created_at=at(n))
    fields.update(overrides)
    return WebhookDelivery(**fields)


class WebhookStoreContract:
    @pytest.fixture
    async def store(self) -> WebhookStore:
        raise NotImplementedError

    # -- endpoints ---------------------------------------------------------------------------------

    async def test_an_added_endpoint_comes_back_equal_and_ids_are_unique(self, store):
        endpoint = an_endpoint(enabled=False, disabled_reason="failing", consecutive_failures=4,
                               failing_since=at(0.000001), version=2)
        await store.add_endpoint(endpoint)
        assert await store.get_endpoint(endpoint.id) == endpoint
        with pytest.raises(AlreadyExists):
            await store.add_endpoint(an_endpoint(id=endpoint.id))
        with pytest.raises(WebhookEndpointNotFound):
            await store.get_endpoint(new_id())

    async def test_saving_checks_and_bumps_the_version(self, store):
        endpoint = an_endpoint()
        await store.add_endpoint(endpoint)
        mine, theirs = await store.get_endpoint(endpoint.id), await store.get_endpoint(endpoint.id)
        mine.change(now=at(9), url="https://elsewhere.example.com/", kinds=("participant.left",), enabled=False)
        await store.save_endpoint(mine)
        assert mine.version == 1 and await store.get_endpoint(endpoint.id) == mine
        theirs.rotate_secret("whsec_new", now=at(9))
        with pytest.raises(ConcurrentModification):
            await store.save_endpoint(theirs)
        with pytest.raises(WebhookEndpointNotFound):
            await store.save_endpoint(an_endpoint())

    async def test_endpoints_are_listed_in_creation_order_and_found_by_enabled_kind(self, store):
        a = an_endpoint(created_at=at(1), kinds=("meeting.started",))
        b = an_endpoint(created_at=at(2), kinds=("meeting.ended", "meeting.started"))
        c = an_endpoint(created_at=at(3), kinds=("meeting.started",), enabled=False)
        for e in (c, a, b):
            await store.add_endpoint(e)
        page = await store.list_endpoints(PageRequest(offset=1, limit=1))
        assert (page.items, page.total) == ((b,), 3)
        assert await store.endpoints_for("meeting.started") == [a, b]
        assert await store.endpoints_for("meeting.ended") == [b]
        assert await store.endpoints_for("recording.ready") == []

    async def test_deleting_an_endpoint_deletes_its_deliveries(self, store):
        endpoint = an_endpoint()
        await store.add_endpoint(endpoint)
        delivery = a_delivery(endpoint.id)
        await store.enqueue([delivery])
        await store.delete_endpoint(endpoint.id)
        with pytest.raises(WebhookDeliveryNotFound):
            await store.get_delivery(delivery.id)
        with pytest.raises(WebhookEndpointNotFound):
            await store.delete_endpoint(endpoint.id)
        assert await store.enqueue([a_delivery(endpoint.id)]) == 0  # for a gone endpoint: skipped

    # -- deliveries --------------------------------------------------------------------------------

    async def test_a_delivery_is_stored_once_per_dedupe_key(self, store):
        endpoint = an_endpoint()
        await store.add_endpoint(endpoint)
        first = a_delivery(endpoint.id)
        assert await store.enqueue([first]) == 1
        assert await store.enqueue([a_delivery(endpoint.id, dedupe_key=first.dedupe_key), first]) == 0
        assert await store.get_delivery(first.id) == first
        assert (await store.list_deliveries(endpoint.id, PageRequest())).total == 1

    async def test_claiming_takes_due_pending_deliveries_and_leases_them(self, store):
        endpoint = an_endpoint()
        await store.add_endpoint(endpoint)
        due = [a_delivery(endpoint.id, next_attempt_at=at(m)) for m in (1, 2)]
        later = a_delivery(endpoint.id, next_attempt_at=at(10))
        done = a_delivery(endpoint.id, status=DeliveryStatus.DELIVERED, next_attempt_at=at(0))
        await store.enqueue([*due, later, done])
        claimed = await store.claim_due(at(5), 10, LEASE)
        assert sorted(d.id for d in claimed) == sorted(d.id for d in due)
        assert {d.next_attempt_at for d in claimed} == {at(5) + LEASE}
        assert await store.claim_due(at(5), 10, LEASE) == []
        again = await store.claim_due(at(5) + LEASE, 10, LEASE)  # the claimer died: due after the lease
        assert sorted(d.id for d in again) == sorted(d.id for d in due)
        assert len(await store.claim_due(at(100), 1, LEASE)) == 1

    async def test_concurrent_claims_never_return_one_delivery_twice(self, store):
        endpoint = an_endpoint()
        await store.add_endpoint(endpoint)
        await store.enqueue([a_delivery(endpoint.id) for _ in range(12)])
        claims = await asyncio.gather(*(store.claim_due(at(1), 5, LEASE) for _ in range(4)))
        ids = [d.id for claim in claims for d in claim]
        assert len(ids) == len(set(ids)) == 12

    async def test_a_saved_delivery_comes_back_equal(self, store):
        endpoint = an_endpoint()
        await store.add_endpoint(endpoint)
        delivery = a_delivery(endpoint.id)
        await store.enqueue([delivery])
        (claimed,) = await store.claim_due(at(1), 10, LEASE)
        claimed.failed(now=at(1.5), status=503, error="HTTP 503", policy=_policy(), jitter=0.5)
        await store.save_delivery(claimed)
        assert await store.get_delivery(delivery.id) == claimed
        claimed.succeeded(now=at(3.000001), status=204)
        await store.save_delivery(claimed)
        assert await store.get_delivery(delivery.id) == claimed
        with pytest.raises(WebhookDeliveryNotFound):
            await store.save_delivery(a_delivery(endpoint.id))

    async def test_the_delivery_log_is_newest_first_per_endpoint(self, store):
        one, two = an_endpoint(), an_endpoint()
        await store.add_endpoint(one)
        await store.add_endpoint(two)
        mine = [a_delivery(one.id, created_at=at(m)) for m in (3, 1, 2)]
        await store.enqueue([*mine, a_delivery(two.id)])
        page = await store.list_deliveries(one.id, PageRequest(limit=2))
        assert [d.created_at for d in page.items] == [at(3), at(2)] and page.total == 3

    async def test_purging_forgets_old_finished_deliveries_and_keeps_pending_ones(self, store):
        endpoint = an_endpoint()
        await store.add_endpoint(endpoint)
        old_done = a_delivery(endpoint.id, created_at=at(1), status=DeliveryStatus.DELIVERED)
        old_failed = a_delivery(endpoint.id, created_at=at(1), status=DeliveryStatus.FAILED)
        old_pending = a_delivery(endpoint.id, created_at=at(1))
        new_done = a_delivery(endpoint.id, created_at=at(10), status=DeliveryStatus.DELIVERED)
        await store.enqueue([old_done, old_failed, old_pending, new_done])
        assert await store.purge_deliveries(at(5)) == 2
        left = (await store.list_deliveries(endpoint.id, PageRequest())).items
        assert sorted(d.id for d in left) == sorted([old_pending.id, new_done.id])


def _policy():  # type: ignore[no-untyped-def]
    from domain.webhooks.model import RetryPolicy
    return RetryPolicy(base=dt.timedelta(seconds=10))
