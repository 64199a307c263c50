"""`python -m runners.meetings`: the meetings service as its own process (issue 14)."""
