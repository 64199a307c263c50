from __future__ import annotations

from attrs import frozen

from domain.shared.ids import UserId
from domain.users.model import Role


@frozen(kw_only=True)
class RegisterUser:
    username: str
    email: str
    password: str
    display_name: str | None = None
    client_address: str = ""


@frozen(kw_only=True)
class LogIn:
    login: str  # a username or an email
    password: str
    client_address: str = ""
    client_token: str | None = None  # handed out by an earlier successful login (TokenPair.client_token)


@frozen(kw_only=True)
class UpdateProfile:
    user_id: UserId
    username: str | None = None
    email: str | None = None
    display_name: str | None = None
    password: str | None = None
    current_password: str | None = None


@frozen(kw_only=True)
class SetRole:
    user_id: UserId
    role: Role
