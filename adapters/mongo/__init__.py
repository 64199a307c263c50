"""MongoDB adapters through motor (kept inside this package: motor is deprecated upstream in favour of
pymongo's AsyncMongoClient, which has the same API, so a swap stays here)."""
