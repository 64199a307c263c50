"""A media node: the SFU as its own process (issue 14); ``python -m runners.media`` (or ``runners.media_node``)."""
