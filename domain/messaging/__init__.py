"""Getting committed events out (the outbox relay) and the dead letters administrators look after."""
