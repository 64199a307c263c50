"""`python -m runners.users`: the users service as its own process (issue 14)."""
