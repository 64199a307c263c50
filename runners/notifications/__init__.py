"""The notification service's composition root: its adapters (memory or production), its channels
(chosen by settings), the service, the dispatcher and their background work."""
