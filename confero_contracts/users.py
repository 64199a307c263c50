"""UserRepository contract: every semantic of ports/users.py, run against each adapter."""

from __future__ import annotations

import pytest

from domain.shared.errors import AlreadyExists, ConcurrentModification
from domain.shared.pagination import PageRequest
from domain.users.errors import EmailTaken, UserNotFound, UsernameTaken
from domain.users.model import Role
from ports.users import UserRepository
from confero_contracts.factories import a_user, a_user_id, at


class UserRepositoryContract:
    @pytest.fixture
    async def repo(self) -> UserRepository:
        raise NotImplementedError

    # -- round trips and copies --------------------------------------------------------------------

    async def test_an_added_user_comes_back_equal(self, repo):
        user = a_user(role=Role.ADMIN, banned=True, display_name="Zoë O'Brien — 100%", version=3,
                      security_version=4, email_verified=False)
        await repo.add(user)
        assert await repo.get(user.id) == user

    async def test_the_security_version_and_email_verification_are_saved(self, repo):
        user = a_user()
        await repo.add(user)
        loaded = await repo.get(user.id)
        assert (loaded.security_version, loaded.email_verified) == (0, True)
        loaded.ban(by=a_user_id(), now=at(50))
        loaded.update_profile(now=at(50), email="changed@example.com")
        await repo.save(loaded)
        again = await repo.get(user.id)
        assert again == loaded
        assert (again.security_version, again.email_verified, again.invitation_email) == (1, False, None)
        for found in (await repo.find_by_login("changed@example.com"), await repo.find_by_email("changed@example.com")):
            assert found == loaded

    async def test_timestamps_keep_their_microseconds_and_stay_aware(self, repo):
        user = a_user(created_at=at(0.000001), updated_at=at(1.999999))
        await repo.add(user)
        got = await repo.get(user.id)
        assert (got.created_at, got.updated_at) == (user.created_at, user.updated_at)
        assert got.created_at.utcoffset() is not None and got.created_at.microsecond == user.created_at.microsecond

    async def test_changing_the_added_object_does_not_change_the_stored_user(self, repo):
        user = a_user()
        await repo.add(user)
        user.display_name = "changed behind the repository's back"
        assert (await repo.get(user.id)).display_name != user.display_name

    async def test_changing_a_loaded_copy_does_not_change_the_stored_user(self, repo):
        user = a_user()
        await repo.add(user)
        copy = await repo.get(user.id)
        copy.banned = True
        assert (await repo.get(user.id)).banned is False

    async def test_changing_a_saved_object_afterwards_does_not_change_the_stored_user(self, repo):
        user = a_user()
        await repo.add(user)
        loaded = await repo.get(user.id)
        await repo.save(loaded)
        loaded.display_name = "after save"
        assert (await repo.get(user.id)).display_name == user.display_name

    async def test_found_users_are_copies_too(self, repo):
        user = a_user()
        await repo.add(user)
        for found in (await repo.find_by_login(user.username), await repo.find_by_email(user.email),
                      (await repo.search(user.username, PageRequest())).items[0]):
            found.display_name = "mutated"
        assert await repo.get(user.id) == user

    # -- not found ---------------------------------------------------------------------------------

    async def test_getting_an_unknown_id_raises_user_not_found(self, repo):
        with pytest.raises(UserNotFound):
            await repo.get(a_user_id())

    async def test_find_by_login_returns_none_for_an_unknown_login(self, repo):
        await repo.add(a_user())
        assert await repo.find_by_login("nobody_here") is None
        assert await repo.find_by_login("nobody@example.com") is None

    async def test_find_by_email_returns_none_for_an_unknown_email(self, repo):
        await repo.add(a_user())
        assert await repo.find_by_email("nobody@example.com") is None

    # -- uniqueness --------------------------------------------------------------------------------

    async def test_adding_a_username_that_differs_only_in_case_raises_username_taken(self, repo):
        await repo.add(a_user(username="Alice.Smith"))
        with pytest.raises(UsernameTaken):
            await repo.add(a_user(username="aLICE.smith"))

    async def test_adding_a_taken_email_raises_email_taken(self, repo):
        await repo.add(a_user(email="same@example.com"))
        with pytest.raises(EmailTaken):
            await repo.add(a_user(email="same@example.com"))

    async def test_a_rejected_add_stores_nothing(self, repo):
        first = a_user(email="same@example.com")
        await repo.add(first)
        second = a_user(email="same@example.com")
        with pytest.raises(EmailTaken):
            await repo.add(second)
        with pytest.raises(UserNotFound):
            await repo.get(second.id)
        assert (await repo.search("", PageRequest())).total == 1

    async def test_adding_an_id_that_is_already_stored_raises_already_exists(self, repo):
        user = a_user()
        await repo.add(user)
        with pytest.raises(AlreadyExists):
            await repo.add(a_user(id=user.id))
        assert await repo.get(user.id) == user

    async def test_saving_another_users_username_in_another_case_raises_username_taken(self, repo):
        await repo.add(a_user(username="Taken_Name"))
        other = a_user()
        await repo.add(other)
        other.username = "taken_name"
        with pytest.raises(UsernameTaken):
            await repo.save(other)
        assert other.version == 0
        assert (await repo.get(other.id)).username != "taken_name"

    async def test_saving_another_users_email_raises_email_taken(self, repo):
        await repo.add(a_user(email="taken@example.com"))
        other = a_user()
        await repo.add(other)
        other.email = "taken@example.com"
        with pytest.raises(EmailTaken):
            await repo.save(other)
        assert other.version == 0

    async def test_a_user_may_change_the_case_of_its_own_username(self, repo):
        user = a_user(username="lower_case")
        await repo.add(user)
        user.username = "Lower_Case"
        await repo.save(user)
        assert (await repo.get(user.id)).username == "Lower_Case"

    # -- lookups -----------------------------------------------------------------------------------

    async def test_find_by_login_matches_the_username_in_any_case(self, repo):
        user = a_user(username="Bob.Builder")
        await repo.add(user)
        assert await repo.find_by_login("bob.BUILDER") == user

    async def test_find_by_login_matches_the_email_in_any_case_ignoring_surrounding_space(self, repo):
        user = a_user(email="bob@example.com")
        await repo.add(user)
        assert await repo.find_by_login("  BOB@Example.com ") == user

    async def test_find_by_email_ignores_case_and_surrounding_space(self, repo):
        user = a_user(email="carol@example.com")
        await repo.add(user)
        assert await repo.find_by_email(" Carol@EXAMPLE.com") == user

    async def test_find_by_email_does_not_match_a_username(self, repo):
        user = a_user(username="dave_d")
        await repo.add(user)
        assert await repo.find_by_email("dave_d") is None

    # -- optimistic concurrency --------------------------------------------------------------------

    async def test_saving_persists_the_changes_and_increments_the_version(self, repo):
        user = a_user()
        await repo.add(user)
        loaded = await repo.get(user.id)
        loaded.ban(by=a_user_id(), now=at(500))
        await repo.save(loaded)
        assert loaded.version == 1
        assert await repo.get(user.id) == loaded
        await repo.save(loaded)
        assert (await repo.get(user.id)).version == 2

    async def test_of_two_saves_of_one_loaded_version_only_the_first_wins(self, repo):
        user = a_user()
        await repo.add(user)
        first, second = await repo.get(user.id), await repo.get(user.id)
        first.display_name = "first"
        second.display_name = "second"
        await repo.save(first)
        with pytest.raises(ConcurrentModification):
            await repo.save(second)
        assert second.version == 0
        assert (await repo.get(user.id)).display_name == "first"

    async def test_saving_a_version_from_the_future_raises_concurrent_modification(self, repo):
        user = a_user()
        await repo.add(user)
        user.version = 5
        with pytest.raises(ConcurrentModification):
            await repo.save(user)

    async def test_saving_an_unknown_user_raises_user_not_found(self, repo):
        with pytest.raises(UserNotFound):
            await repo.save(a_user())

    # -- search ------------------------------------------------------------------------------------

    async def test_search_matches_a_substring_of_username_email_or_display_name_in_any_case(self, repo):
        by_name = a_user(username="Zebra_Keeper")
        by_email = a_user(email="zookeeper.zebra@example.com")
        by_display = a_user(display_name="Mr ZEBRA")
        await repo.add(a_user())
        for u in (by_name, by_email, by_display):
            await repo.add(u)
        page = await repo.search("zEbR", PageRequest())
        assert set(u.id for u in page.items) == {by_name.id, by_email.id, by_display.id}
        assert page.total == 3

    async def test_search_treats_wildcard_characters_literally(self, repo):
        percent = a_user(display_name="100% sure")
        await repo.add(percent)
        await repo.add(a_user(display_name="100 sure"))
        await repo.add(a_user(username="axb_c", display_name="nothing"))
        assert [u.id for u in (await repo.search("0%", PageRequest())).items] == [percent.id]
        assert (await repo.search("a_b", PageRequest())).total == 0
        assert (await repo.search("\\", PageRequest())).total == 0

    async def test_search_with_an_empty_query_returns_everyone(self, repo):
        for _ in range(3):
            await repo.add(a_user())
        assert (await repo.search("", PageRequest())).total == 3

    async def test_search_orders_by_creation_time_then_id(self, repo):
        same_time = at(-100)
        users = [a_user(created_at=same_time) for _ in range(3)] + [a_user(created_at=at(-200))]
        for u in users:
            await repo.add(u)
        expected = sorted(users, key=lambda u: (u.created_at, u.id))
        assert list((await repo.search("", PageRequest())).items) == expected

    async def test_search_pages_through_the_results_and_reports_the_total(self, repo):
        users = [a_user(display_name=f"pager {i}") for i in range(5)]
        for u in users:
            await repo.add(u)
        await repo.add(a_user(display_name="unrelated"))
        page = await repo.search("PAGER", PageRequest(offset=1, limit=2))
        assert (page.items, page.total, page.offset, page.limit) == (tuple(users[1:3]), 5, 1, 2)
        beyond = await repo.search("pager", PageRequest(offset=10, limit=2))
        assert (beyond.items, beyond.total) == ((), 5)
