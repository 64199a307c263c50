"""Prometheus instruments shared by the adapters and runners (never imported by domain/ or ports/).

Every instrument lives in ``instruments``, on prometheus-client's default registry, so one scrape of a
process shows all of them.  Labels are bounded sets (route templates, command names, message types,
status classes): never a user, meeting or connection id.
"""

from prometheus_client import disable_created_metrics

# The ``_created`` series double every counter and histogram for a timestamp Prometheus does not use.
disable_created_metrics()
