from __future__ import annotations

import pytest

from adapters.crypto.argon2 import Argon2PasswordHasher


@pytest.fixture(scope="module")
def hasher() -> Argon2PasswordHasher:
    return Argon2PasswordHasher.fast()


async def test_a_hash_verifies_the_password_it_was_made_from(hasher):
    hashed = await hasher.hash("tr0ub4dor & 3")
    assert await hasher.verify(hashed, "tr0ub4dor & 3") is True


async def test_a_hash_does_not_verify_another_password(hasher):
    hashed = await hasher.hash("tr0ub4dor & 3")
    assert await hasher.verify(hashed, "tr0ub4dor & 4") is False
    assert await hasher.verify(hashed, "") is False


async def test_the_hash_is_argon2id_salted_and_never_the_clear_password(hasher):
    first, second = await hasher.hash("same password"), await hasher.hash("same password")
    assert first.startswith("$argon2id$")
    assert "same password" not in first
    assert first != second


async def test_a_hash_made_with_other_parameters_still_verifies(hasher):
    strong = Argon2PasswordHasher(time_cost=2, memory_cost_kib=2048, parallelism=2)
    assert await hasher.verify(await strong.hash("portable secret"), "portable secret") is True


@pytest.mark.parametrize("malformed", [
    "", "not a hash", "$argon2id$", "$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$",
    "$argon2id$v=19$m=abc,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo", "$2b$12$abcdefghijklmnopqrstuv",
])
async def test_a_malformed_hash_verifies_nothing_and_raises_nothing(hasher, malformed):
    assert await hasher.verify(malformed, "anything") is False


async def test_a_tampered_hash_verifies_nothing(hasher):
    hashed = await hasher.hash("tr0ub4dor & 3")
    last = hashed[-1]
    tampered = hashed[:-1] + ("A" if last != "A" else "B")
    assert await hasher.verify(tampered, "tr0ub4dor & 3") is False
