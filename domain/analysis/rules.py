"""Who may analyse what, and how much input one analysis may take."""

from __future__ import annotations

from attrs import frozen

from domain.analysis.errors import AnalysisNotAllowed, InputTooLarge
from domain.analysis.model import AnalysisJob
from domain.meetings.model import Meeting
from domain.shared.actor import Actor


@frozen(kw_only=True)
class AnalysisLimits:
    """``sync_max_duration_s``: inputs up to this long are answered in the request; longer ones become
    jobs.  Every limit is an APP_AI_* setting (README)."""

    max_upload_bytes: int = 25 * 1024 * 1024
    max_duration_s: float = 600.0
    sync_max_duration_s: float = 30.0
    max_texts: int = 100
    max_text_chars: int = 5000
    max_frame_pixels: int = 1920 * 1080
    inference_timeout_s: float = 120.0
    submissions_per_minute: int = 30

    def check_size(self, size: int) -> None:
        if size > self.max_upload_bytes:
            raise InputTooLarge(f"the input is {size} bytes; at most {self.max_upload_bytes} are accepted",
                                reason="too_large", limit=self.max_upload_bytes, got=size)

    def check_duration(self, seconds: float) -> None:
        if seconds > self.max_duration_s:
            raise InputTooLarge(f"the input lasts {seconds:.1f} s; at most {self.max_duration_s:g} s are accepted",
                                reason="too_long", limit=self.max_duration_s, got=round(seconds, 3))

    def check_texts(self, texts: tuple[str, ...]) -> None:
        if len(texts) > self.max_texts:
            raise InputTooLarge(f"at most {self.max_texts} texts per analysis", reason="too_many_texts",
                                limit=self.max_texts, got=len(texts))
        longest = max((len(t) for t in texts), default=0)
        if longest > self.max_text_chars:
            raise InputTooLarge(f"a text is {longest} characters; at most {self.max_text_chars} are accepted",
                                reason="text_too_long", limit=self.max_text_chars, got=longest)


def check_may_analyse(actor: Actor, meeting: Meeting) -> None:
    """A meeting's media is analysed only by the people in it: its host and co-hosts always, its other
    members (participants, attendees, invitees) while the meeting's ``allow_analysis`` setting is on.
    Administrators are not members: the rule protects the people in the meeting, not the system."""
    if meeting.is_privileged(actor.user_id):
        return
    if meeting.role_of(actor.user_id) is None:
        raise AnalysisNotAllowed("only the meeting's members and hosts may analyse its media",
                                 reason="not_a_member", meeting_id=meeting.id)
    if not meeting.settings.allow_analysis:
        raise AnalysisNotAllowed("the meeting's host turned analysis off for members",
                                 reason="analysis_off", meeting_id=meeting.id)


def may_read(actor: Actor, job: AnalysisJob, meeting: Meeting | None) -> bool:
    """A result is seen by whoever asked for it, administrators, and, for a meeting's media, the
    meeting's hosts and members (who could have asked for it themselves)."""
    if actor.is_admin or job.requested_by == actor.user_id:
        return True
    if meeting is None:
        return False
    return meeting.is_privileged(actor.user_id) or meeting.role_of(actor.user_id) is not None


def may_list_meeting(actor: Actor, meeting: Meeting) -> bool:
    return actor.is_admin or meeting.role_of(actor.user_id) is not None
