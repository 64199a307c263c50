"""Service discovery: which instances of each service are alive, their load, and which one to use."""
