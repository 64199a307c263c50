"""Which attempt counters a login or a registration reserves (the policy; adapters only count).

Logins are counted so that nobody can lock another person out:
- a *known client* (one that logged into this account before and holds the client token the server gave
  it then) has its own counter and nothing else: attackers elsewhere never slow it down;
- any other client is counted per (login as typed, address) pair, and also against a small budget per
  login and a larger one per address, shared by all unknown clients: an attack from many addresses
  slows the account down to that budget for new clients, but never blocks its owner's known clients,
  and one noisy neighbour behind an office address blocks only unknown clients of that address.
The login is counted as typed (lower-cased), never as the account it resolves to: failures by email and
by username fill different counters, so a 429 never tells which username owns an email.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from attrs import frozen


@frozen
class Bucket:
    """A sliding-window counter: at most ``limit`` attempts within ``window``."""

    key: str
    limit: int
    window: dt.timedelta


@frozen
class Reservation:
    """One attempt counted in ``buckets`` under ``id``; ``retry_after`` > 0 means it was refused and
    nothing was counted."""

    id: str
    buckets: tuple[Bucket, ...]
    retry_after: int = 0

    @property
    def granted(self) -> bool:
        return self.retry_after == 0


def _digest(*parts: str) -> str:
    # Keys hold no login, email or client token in the clear, and no separator a login could contain.
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


@frozen(kw_only=True)
class AttemptLimits:
    per_client: int = 5
    per_login: int = 20
    per_address: int = 50
    window: dt.timedelta = dt.timedelta(minutes=15)
    known_client_ttl: dt.timedelta = dt.timedelta(days=30)
    registrations_per_address: int = 20
    registration_window: dt.timedelta = dt.timedelta(hours=1)

    def login_buckets(self, login: str, address: str, known_client: str | None) -> tuple[Bucket, ...]:
        """The first bucket is the client's own (cleared by its successful login); the others are
        shared budgets, which a success leaves alone."""
        if known_client is not None:
            return (Bucket("login-client:" + _digest(known_client), self.per_client, self.window),)
        typed = login.strip().lower()
        buckets = [Bucket("login-pair:" + _digest(typed, address), self.per_client, self.window),
                   Bucket("login:" + _digest(typed), self.per_login, self.window)]
        if address:
            buckets.append(Bucket("login-addr:" + _digest(address), self.per_address, self.window))
        return tuple(buckets)

    def reauthentication_buckets(self, user_id: str) -> tuple[Bucket, ...]:
        """Current-password checks of a signed-in user (email or password change)."""
        return (Bucket("reauth:" + _digest(user_id), self.per_client, self.window),)

    def registration_buckets(self, address: str) -> tuple[Bucket, ...]:
        if not address:
            return ()
        return (Bucket("register:" + _digest(address), self.registrations_per_address,
                       self.registration_window),)
