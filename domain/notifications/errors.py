from __future__ import annotations

from domain.shared.errors import InvalidArgument, NotFound, Unavailable


class InvalidPreferences(InvalidArgument):
    pass


class NotificationNotFound(NotFound):
    pass


class PushSubscriptionNotFound(NotFound):
    pass


class InvalidPushSubscription(InvalidArgument):
    pass


class InvalidUnsubscribeToken(InvalidArgument):
    code = "invalid_unsubscribe_token"


class DeliveryRejected(Exception):
    """The channel refused this message for good (SMTP 5xx, a provider's 4xx): retrying cannot help."""


class DeliveryFailed(Unavailable):
    """The channel could not take the message now (refused connection, 4xx SMTP, 5xx provider): retry."""


class RecipientGone(Exception):
    """The address no longer exists (a push subscription answered 404/410): drop it, do not retry."""
