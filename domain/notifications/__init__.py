"""Notifications: who hears about what, on which channels, when, in which words (issue 13)."""
