"""`python -m runners.gateway`: the reverse proxy in front of the services (issue 14, README "Gateway")."""
