from __future__ import annotations

from domain.shared.errors import InvalidArgument, NotFound


class WebhookEndpointNotFound(NotFound):
    pass


class WebhookDeliveryNotFound(NotFound):
    pass


class InvalidWebhookEndpoint(InvalidArgument):
    """A URL, event kind or description breaks the endpoint rules; ``field`` says which."""
