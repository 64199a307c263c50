"""The Qt widgets: sign in, the meeting list, and a meeting (video tiles with a self-view, chat, mute,
leave). All work that waits runs as asyncio tasks on Qt's own event loop (qasync, see __main__), so
widgets are only ever touched from the GUI thread and no locking is needed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import aiohttp
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from attrs import frozen
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import (QFormLayout, QFrame, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QMainWindow, QPushButton, QStackedWidget, QVBoxLayout, QWidget)

from clients.desktop.api import ApiClient, MeetingSummary
from clients.desktop.media import audio_source, rgb_image, video_source
from clients.desktop.playback import Speaker
from clients.desktop.session import (ChatReceived, Event, MeetingSession, MembersChanged, RoomEnded, TrackAdded,
                                     TrackRemoved)

log = logging.getLogger(__name__)


@frozen
class Options:
    server: str
    video: str = "test"  # media.video_source spec
    audio: str = "silence"  # media.audio_source spec
    speaker: str = "none"  # playback.Speaker device spec, or none
    username: str = ""


def to_qimage(frame: Any) -> QImage:
    width, height, stride, rgb = rgb_image(frame)
    return QImage(rgb, width, height, stride, QImage.Format.Format_RGB888).copy()


class VideoTile(QFrame):
    """One person's video (the latest decoded frame, scaled to fit), their name and mute state."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.setMinimumSize(240, 180)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.name = name
        self.muted = False
        self.image: QImage | None = None
        self.frames = 0
        self.audio_frames = 0

    def set_image(self, image: QImage) -> None:
        self.image = image
        self.frames += 1
        self.update()

    def set_label(self, name: str, muted: bool) -> None:
        if (name, muted) != (self.name, self.muted):
            self.name, self.muted = name, muted
            self.update()

    def paintEvent(self, event: Any) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 24))
        if self.image is not None:  # above the name bar, as large as fits
            area = QSize(self.width(), self.height() - 24)
            scaled = self.image.size().scaled(area, Qt.AspectRatioMode.KeepAspectRatio)
            x, y = (area.width() - scaled.width()) // 2, (area.height() - scaled.height()) // 2
            painter.drawImage(QRect(x, y, scaled.width(), scaled.height()), self.image)
        else:
            painter.setPen(QColor(160, 160, 160))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no video")
        painter.fillRect(0, self.height() - 24, self.width(), 24, QColor(0, 0, 0, 160))
        painter.setPen(QColor(255, 255, 255))
        label = f"{self.name}  (muted)" if self.muted else self.name
        painter.drawText(QRect(8, self.height() - 24, self.width() - 16, 24), Qt.AlignmentFlag.AlignVCenter, label)
        painter.end()


class SignInPage(QWidget):
    def __init__(self, options: Options) -> None:
        super().__init__()
        form = QFormLayout(self)
        self.server = QLineEdit(options.server)
        self.username = QLineEdit(options.username)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.email = QLineEdit()
        self.email.setPlaceholderText("only to create an account")
        self.sign_in = QPushButton("Sign in")
        self.sign_up = QPushButton("Create account")
        form.addRow("Server", self.server)
        form.addRow("Username", self.username)
        form.addRow("Password", self.password)
        form.addRow("Email", self.email)
        buttons = QHBoxLayout()
        buttons.addWidget(self.sign_in)
        buttons.addWidget(self.sign_up)
        form.addRow(buttons)


class MeetingsPage(QWidget):
    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        self.who = QLabel()
        self.list = QListWidget()
        self.refresh = QPushButton("Refresh")
        self.join_selected = QPushButton("Join selected")
        self.meeting_id = QLineEdit()
        self.meeting_id.setPlaceholderText("meeting id")
        self.password = QLineEdit()
        self.password.setPlaceholderText("meeting password (if any)")
        self.join_by_id = QPushButton("Join by id")
        self.title = QLineEdit()
        self.title.setPlaceholderText("title of a new meeting")
        self.create = QPushButton("New meeting")
        self.sign_out = QPushButton("Sign out")
        layout.addWidget(self.who)
        layout.addWidget(self.list)
        row = QHBoxLayout()
        for w in (self.refresh, self.join_selected, self.sign_out):
            row.addWidget(w)
        layout.addLayout(row)
        for ws in ((self.meeting_id, self.password, self.join_by_id), (self.title, self.create)):
            row = QHBoxLayout()
            for w in ws:
                row.addWidget(w)
            layout.addLayout(row)

    def show_meetings(self, meetings: list[MeetingSummary]) -> None:
        self.list.clear()
        for m in meetings:
            item = QListWidgetItem(f"{m.title}  [{m.status}]  {m.start_time[:16].replace('T', ' ')}"
                                   + ("  (password)" if m.has_password else ""))
            item.setData(Qt.ItemDataRole.UserRole, m.id)
            self.list.addItem(item)


class CallPage(QWidget):
    def __init__(self) -> None:
        super().__init__()
        outer = QHBoxLayout(self)
        left = QVBoxLayout()
        self.title = QLabel()
        self.tiles_area = QWidget()
        self.grid = QGridLayout(self.tiles_area)
        controls = QHBoxLayout()
        self.mute = QPushButton("Mute")
        self.mute.setCheckable(True)
        self.leave = QPushButton("Leave")
        controls.addWidget(self.mute)
        controls.addWidget(self.leave)
        left.addWidget(self.title)
        left.addWidget(self.tiles_area, 1)
        left.addLayout(controls)
        right = QVBoxLayout()
        self.chat = QListWidget()
        self.chat_input = QLineEdit()
        self.chat_input.setPlaceholderText("message")
        self.send = QPushButton("Send")
        right.addWidget(QLabel("Chat"))
        right.addWidget(self.chat, 1)
        row = QHBoxLayout()
        row.addWidget(self.chat_input)
        row.addWidget(self.send)
        right.addLayout(row)
        outer.addLayout(left, 3)
        outer.addLayout(right, 1)
        self.tiles: dict[str, VideoTile] = {}  # user id -> tile; the self-view is under the own id

    def arrange(self, order: list[str]) -> None:
        for tile in self.tiles.values():
            self.grid.removeWidget(tile)
        columns = 1 if len(order) == 1 else 2 if len(order) <= 4 else 3
        for i, user_id in enumerate(order):
            self.grid.addWidget(self.tiles[user_id], i // columns, i % columns)


class MainWindow(QMainWindow):
    """Sign in -> meetings -> a meeting. ``session`` is the meeting being attended, if any."""

    def __init__(self, options: Options, http: aiohttp.ClientSession) -> None:
        super().__init__()
        self.setWindowTitle("Confero")
        self.resize(1100, 700)
        self.options = options
        self.http = http
        self.api: ApiClient | None = None
        self.session: MeetingSession | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self._media_tasks: dict[tuple[str, str], asyncio.Task[Any]] = {}
        self._sources: list[MediaStreamTrack] = []  # the camera and microphone of the meeting
        self.speaker: Speaker | None = None  # plays the others' audio during a meeting
        self.sign_in_page, self.meetings_page, self.call_page = SignInPage(options), MeetingsPage(), CallPage()
        self.stack = QStackedWidget()
        for page in (self.sign_in_page, self.meetings_page, self.call_page):
            self.stack.addWidget(page)
        self.setCentralWidget(self.stack)
        self.status = self.statusBar()
        self.closed = asyncio.get_running_loop().create_future()

        p = self.sign_in_page
        p.sign_in.clicked.connect(lambda: self.run(self.do_sign_in(create=False)))
        p.sign_up.clicked.connect(lambda: self.run(self.do_sign_in(create=True)))
        p.password.returnPressed.connect(p.sign_in.click)
        m = self.meetings_page
        m.refresh.clicked.connect(lambda: self.run(self.do_refresh()))
        m.join_selected.clicked.connect(self._join_selected)
        m.list.itemDoubleClicked.connect(lambda item: self._join_selected())
        m.join_by_id.clicked.connect(lambda: self.run(self.do_join(m.meeting_id.text().strip(),
                                                                   m.password.text() or None)))
        m.create.clicked.connect(lambda: self.run(self.do_create(m.title.text().strip())))
        m.sign_out.clicked.connect(lambda: self.run(self.do_sign_out()))
        c = self.call_page
        c.mute.toggled.connect(lambda checked: self.run(self.do_mute(checked)))
        c.send.clicked.connect(lambda: self.run(self.do_chat()))
        c.chat_input.returnPressed.connect(c.send.click)
        c.leave.clicked.connect(lambda: self.run(self.do_leave()))

    # -- plumbing --------------------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Starts a task for a button; its failure is shown in the status bar."""
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.warning("action failed: %r", error)
            self.status.showMessage(f"Error: {error}")

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt's name)
        async def shut() -> None:
            try:
                if self.session is not None:
                    await self.do_leave()
            finally:
                if not self.closed.done():
                    self.closed.set_result(None)

        self.run(shut())
        event.accept()

    # -- actions ---------------------------------------------------------------------------------

    async def do_sign_in(self, create: bool) -> None:
        p = self.sign_in_page
        self.api = ApiClient(p.server.text().strip().rstrip("/"), self.http)
        username, password = p.username.text().strip(), p.password.text()
        if create:
            await self.api.register(username, p.email.text().strip(), password)
        account = await self.api.sign_in(username, password)
        self.meetings_page.who.setText(f"Signed in as {account.display_name} on {self.api.base}")
        self.stack.setCurrentWidget(self.meetings_page)
        await self.do_refresh()

    async def do_sign_out(self) -> None:
        assert self.api is not None
        await self.api.sign_out()
        self.stack.setCurrentWidget(self.sign_in_page)

    async def do_refresh(self) -> None:
        assert self.api is not None
        self.meetings_page.show_meetings(await self.api.meetings())

    async def do_create(self, title: str) -> None:
        assert self.api is not None
        created = await self.api.create_meeting(title or "Meeting")
        self.meetings_page.meeting_id.setText(created.id)
        await self.do_refresh()

    def _join_selected(self) -> None:
        item = self.meetings_page.list.currentItem()
        if item is not None:
            self.run(self.do_join(item.data(Qt.ItemDataRole.UserRole), self.meetings_page.password.text() or None))

    async def do_join(self, meeting_id: str, password: str | None) -> None:
        if self.session is not None:  # a second click while joining
            return
        assert self.api is not None
        session = self.session = MeetingSession(self.api, listener=self._on_session_event)
        c = self.call_page
        try:
            meeting = await self.api.meeting(meeting_id)
            self._sources = [video_source(self.options.video), audio_source(self.options.audio)]
            if self.options.speaker != "none":
                self.speaker = Speaker.for_device(self.options.speaker)
            c.title.setText(f"{meeting.title}  —  {meeting.id}")
            c.chat.clear()
            await session.join(meeting_id, password, video=self._sources[0], audio=self._sources[1])
        except BaseException:
            self.session = None
            await session.close()
            self._stop_sources()
            self._close_speaker()
            raise
        assert session.me is not None and session.local_video is not None
        self._sync_tiles()
        self._show(session.local_video, c.tiles[session.me.user_id], ("self", "video"))
        c.mute.setChecked(not session.audio_on)
        self.stack.setCurrentWidget(c)
        self.status.showMessage(f"Joined {meeting.title}")

    async def do_mute(self, muted: bool) -> None:
        self.call_page.mute.setText("Unmute" if muted else "Mute")
        if self.session is not None and self.session.audio_on == muted:
            await self.session.set_audio(not muted)
            self._sync_tiles()

    async def do_chat(self) -> None:
        text = self.call_page.chat_input.text().strip()
        if text and self.session is not None:
            await self.session.send_chat(text)
            self.call_page.chat_input.clear()

    async def do_leave(self) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        await session.leave()
        self._stop_media()
        self._stop_sources()
        self._close_speaker()
        self._clear_tiles()
        self.stack.setCurrentWidget(self.meetings_page)
        self.status.showMessage("Left the meeting")
        if self.api is not None and self.api.account is not None:
            await self.do_refresh()

    # -- the meeting's events --------------------------------------------------------------------

    def _on_session_event(self, event: Event) -> None:
        c = self.call_page
        if isinstance(event, MembersChanged):
            self._sync_tiles()
        elif isinstance(event, ChatReceived):
            c.chat.addItem(f"{event.message.display_name}: {event.message.text}")
            c.chat.scrollToBottom()
        elif isinstance(event, TrackAdded):  # (a member's new track replaces its old one of that kind)
            old = self._media_tasks.pop((event.user_id, event.kind), None)
            if old is not None:
                old.cancel()
            self._sync_tiles()
        elif isinstance(event, TrackRemoved):
            task = self._media_tasks.pop((event.user_id, event.kind), None)
            if task is not None:
                task.cancel()
            if self.speaker is not None:
                self.speaker.forget((event.user_id, event.kind))
        elif isinstance(event, RoomEnded) and event.reason != "left":
            self.status.showMessage(f"The meeting is over for you: {event.reason}")
            self.run(self.do_leave())

    def _sync_tiles(self) -> None:
        session, c = self.session, self.call_page
        if session is None or session.me is None:
            return
        people = {session.me.user_id: (f"{session.me.display_name} (you)", not session.audio_on)}
        people |= {m.user_id: (m.display_name, not m.audio) for m in session.members.values()}
        for user_id in list(c.tiles):
            if user_id not in people:
                c.tiles.pop(user_id).deleteLater()
                for key in [k for k in self._media_tasks if k[0] == user_id]:
                    self._media_tasks.pop(key).cancel()
        for user_id, (name, muted) in people.items():
            if user_id not in c.tiles:
                c.tiles[user_id] = VideoTile(name)
            c.tiles[user_id].set_label(name, muted)
        c.arrange(list(people))
        # A track may come before its member (the SFU's offer and member_joined are not ordered): it is
        # shown once the member's tile exists.
        for key, track in session.tracks.items():
            if key[0] in c.tiles and key not in self._media_tasks:
                self._show(track, c.tiles[key[0]], key)

    def _show(self, track: MediaStreamTrack, tile: VideoTile, key: tuple[str, str]) -> None:
        async def pump() -> None:
            try:
                while True:
                    frame = await track.recv()
                    if track.kind == "video":
                        tile.set_image(to_qimage(frame))
                    else:
                        tile.audio_frames += 1
                        if self.speaker is not None:
                            self.speaker.feed(key, frame)
            except MediaStreamError:
                pass

        old = self._media_tasks.pop(key, None)
        if old is not None:
            old.cancel()
        self._media_tasks[key] = self.run(pump())

    def _stop_media(self) -> None:
        for task in self._media_tasks.values():
            task.cancel()
        self._media_tasks.clear()

    def _close_speaker(self) -> None:
        if self.speaker is not None:
            self.speaker.close()
            self.speaker = None

    def _stop_sources(self) -> None:
        for track in self._sources:
            track.stop()
        self._sources = []

    def _clear_tiles(self) -> None:
        for tile in self.call_page.tiles.values():
            tile.deleteLater()
        self.call_page.tiles.clear()
