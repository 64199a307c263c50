from __future__ import annotations

from attrs import frozen

from domain.shared.ids import UserId


@frozen
class Actor:
    """Who is acting, as the domain needs to know it: an id and whether they administer the system."""

    user_id: UserId
    is_admin: bool = False
