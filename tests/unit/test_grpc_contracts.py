"""The MeetingAccess, MeetingState, Authenticator and UserDirectory contract suites against the in-process adapters and
against the gRPC adapters talking to real grpclib servers on 127.0.0.1."""

from __future__ import annotations

import pytest

from confero_contracts import AuthenticatorContract, MeetingAccessContract, MeetingStateContract, UserDirectoryContract
from tests.support.grpc_world import in_process, over_grpc


@pytest.fixture
async def local():
    async with in_process() as world:
        yield world


@pytest.fixture
async def remote(local):
    async with over_grpc(local) as world:
        yield world


class TestInProcessMeetingAccess(MeetingAccessContract):
    @pytest.fixture
    async def harness(self, local):
        return local


class TestGrpcMeetingAccess(MeetingAccessContract):
    @pytest.fixture
    async def harness(self, remote):
        return remote


class TestUserServiceAuthenticator(AuthenticatorContract):
    @pytest.fixture
    async def harness(self, local):
        return local


class TestGrpcAuthenticator(AuthenticatorContract):
    @pytest.fixture
    async def harness(self, remote):
        return remote


class TestRepositoryUserDirectory(UserDirectoryContract):
    @pytest.fixture
    async def harness(self, local):
        return local


class TestGrpcUserDirectory(UserDirectoryContract):
    @pytest.fixture
    async def harness(self, remote):
        return remote


class TestInProcessMeetingState(MeetingStateContract):
    @pytest.fixture
    async def harness(self, local):
        return local


class TestGrpcMeetingState(MeetingStateContract):
    @pytest.fixture
    async def harness(self, remote):
        return remote
