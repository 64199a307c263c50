"""Request bodies: one model each, which validates the JSON, documents it and turns it into a command.

The models check shape and types; the domain checks meaning (a username's characters, a capacity's range)
and answers with its own specific errors.  Fields a client may leave out default to None *without being
validated*, so an explicit ``null`` is refused where the document does not allow it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from domain.meetings import commands as mc
from domain.meetings.model import MeetingSettings
from domain.shared.ids import MeetingId, UserId
from domain.users import commands as uc
from domain.users.model import Role
from runners.shapes import Id, Shape, Time, text

Password = text(1024, 1)
MeetingPassword = text(256, 1)


class _AtLeastOne(Shape):
    @model_validator(mode="after")
    def _not_empty(self) -> Any:
        if not self.model_fields_set:
            raise ValueError("send at least one field")
        return self


class RegisterRequest(Shape):
    username: text(64, 1)
    email: text(254, 1)
    password: Password
    display_name: text(200, 1) = None

    def command(self, client_address: str) -> uc.RegisterUser:
        return uc.RegisterUser(username=self.username, email=self.email, password=self.password,
                               display_name=self.display_name, client_address=client_address)


class LoginRequest(Shape):
    username: text(254, 1, description="a username or an email")
    password: Password

    def command(self, client_address: str, client_token: str | None) -> uc.LogIn:
        return uc.LogIn(login=self.username, password=self.password, client_address=client_address,
                        client_token=client_token)


class RefreshRequest(Shape):
    refresh_token: text(4096, 1)


class LogoutRequest(Shape):
    refresh_token: text(4096, 1) = None


class UpdateUserRequest(_AtLeastOne, json_schema_extra={"minProperties": 1}):
    username: text(64, 1) = None
    email: text(254, 1) = None
    display_name: text(200, 1) = None
    password: Password = None
    current_password: Password = None

    def command(self, user_id: UserId) -> uc.UpdateProfile:
        return uc.UpdateProfile(user_id=user_id, **self.model_dump(exclude_unset=True))


class SetRoleRequest(Shape):
    role: Literal["user", "admin"]

    def command(self, user_id: UserId) -> uc.SetRole:
        return uc.SetRole(user_id=user_id, role=Role(self.role))


class SettingsChange(Shape):
    mute_on_join: bool = None
    allow_recording: bool = None
    invite_only: bool = None
    allow_analysis: bool = None


class CreateMeetingRequest(Shape):
    title: text(400, 1)
    description: text(4000) = ""
    start_time: Time = None
    duration_minutes: int = mc.DEFAULT_DURATION_MINUTES
    capacity: int = mc.DEFAULT_CAPACITY
    password: MeetingPassword = None
    settings: SettingsChange = None

    def command(self) -> mc.ScheduleMeeting:
        settings = self.settings.model_dump(exclude_unset=True) if self.settings else {}
        return mc.ScheduleMeeting(title=self.title, description=self.description, start_time=self.start_time,
                                  duration_minutes=self.duration_minutes, capacity=self.capacity,
                                  password=self.password, settings=MeetingSettings(**settings))


class UpdateMeetingRequest(_AtLeastOne, json_schema_extra={"minProperties": 1}):
    title: text(400, 1) = None
    description: text(4000) = None
    start_time: Time = None
    duration_minutes: int = None
    capacity: int = None
    password: Annotated[str | None, Field(min_length=1, max_length=256,
                                          description="a new password, or null to remove it")] = None
    settings: SettingsChange = None

    def command(self, meeting_id: MeetingId) -> mc.UpdateMeeting:
        s = self.settings or SettingsChange()
        return mc.UpdateMeeting(
            meeting_id=meeting_id, title=self.title, description=self.description, start_time=self.start_time,
            duration_minutes=self.duration_minutes, capacity=self.capacity, password=self.password,
            clear_password="password" in self.model_fields_set and self.password is None,
            mute_on_join=s.mute_on_join, allow_recording=s.allow_recording, invite_only=s.invite_only,
            allow_analysis=s.allow_analysis)


class JoinMeetingRequest(Shape):
    password: MeetingPassword = None

    def command(self, meeting_id: MeetingId) -> mc.JoinMeeting:
        return mc.JoinMeeting(meeting_id=meeting_id, password=self.password)


class InviteRequest(Shape, json_schema_extra={"oneOf": [{"required": ["user_id"]}, {"required": ["email"]},
                                                         {"required": ["username"]}]}):
    user_id: Id = None
    email: text(254, 1) = None
    username: text(64, 1) = None

    @model_validator(mode="after")
    def _exactly_one(self) -> InviteRequest:
        if len(self.model_fields_set) != 1:
            raise ValueError("send one of user_id, email or username")
        return self

    def command(self, meeting_id: MeetingId) -> mc.Invite:
        return mc.Invite(meeting_id=meeting_id, user_id=UserId(self.user_id) if self.user_id else None,
                         email=self.email, username=self.username)


class TransferHostRequest(Shape):
    user_id: Id

