"""A small client of Janus's HTTP API for the VideoRoom plugin, and a Janus process for benchmarks.

``JanusSession``: create a session, attach ``janus.plugin.videoroom`` handles, create a room, publish
an aiortc peer's offer (``joinandconfigure``), subscribe (``join`` as subscriber, answer with
``start``), keepalive. Events arrive on one long-poll loop per session and are routed to the
handle that sent them.

``JanusServer``: Janus started with a configuration generated into a temporary directory: only the
VideoRoom plugin and the HTTP transport (loaded from folders of symlinks), HTTP API bound to one
address, ICE gathering enforced to that address, no STUN, no IPv6, no event handlers, no admin API.
It must run inside a network namespace created by the caller (bench/sfu.py).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

JANUS_LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
PLUGIN = "janus.plugin.videoroom"


class JanusError(RuntimeError):
    pass


def _janus_config(folder: Path, ip: str, http_port: int, rtp_ports: str, debug_level: int) -> None:
    (folder / "janus.jcfg").write_text(f"""general: {{
	configs_folder = "{folder}"
	plugins_folder = "{folder}/plugins"
	transports_folder = "{folder}/transports"
	events_folder = "{folder}/events"
	loggers_folder = "{folder}/loggers"
	debug_level = {debug_level}
	session_timeout = 60
	server_name = "bench-janus"
	interface = "{ip}"
}}
certificates: {{
}}
media: {{
	ipv6 = false
	rtp_port_range = "{rtp_ports}"
}}
nat: {{
	nice_debug = {"true" if os.environ.get("BENCH_NICE_DEBUG") else "false"}
	full_trickle = false
	ice_enforce_list = "{ip}"
}}
plugins: {{
}}
transports: {{
}}
loggers: {{
}}
events: {{
	broadcast = false
}}
""")
    (folder / "janus.transport.http.jcfg").write_text(f"""general: {{
	json = "plain"
	base_path = "/janus"
	http = true
	port = {http_port}
	ip = "{ip}"
	https = false
}}
admin: {{
	admin_http = false
	admin_https = false
}}
""")
    (folder / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")
    for sub, lib in (("plugins", "libjanus_videoroom.so"), ("transports", "libjanus_http.so")):
        (folder / sub).mkdir()
        (folder / sub / lib).symlink_to(JANUS_LIB / sub / lib)
    (folder / "events").mkdir()
    (folder / "loggers").mkdir()


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the benchmark process dies (Linux prctl PR_SET_PDEATHSIG)."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


class JanusServer:
    """``janus`` in the caller's network namespace, bound to ``ip`` only; ``cpu_seconds()`` from /proc."""

    def __init__(self, ip: str, http_port: int = 8088, rtp_ports: str = "20000-20999", debug_level: int = 3) -> None:
        self.ip, self.http_port, self.rtp_ports, self.debug_level = ip, http_port, rtp_ports, debug_level
        self.url = f"http://{ip}:{http_port}/janus"
        self.proc: subprocess.Popen[bytes] | None = None
        self.folder: Path | None = None

    @property
    def log_path(self) -> Path:
        assert self.folder is not None
        return self.folder / "janus.log"

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    async def __aenter__(self) -> JanusServer:
        janus = shutil.which("janus")
        if janus is None:
            raise JanusError("janus is not installed: apt-get -o DPkg::Lock::Timeout=600 install -y janus")
        self.folder = Path(tempfile.mkdtemp(prefix="bench-janus-"))
        _janus_config(self.folder, self.ip, self.http_port, self.rtp_ports, self.debug_level)
        self.proc = subprocess.Popen(
            [janus, "-C", str(self.folder / "janus.jcfg"), "-F", str(self.folder), "-N", "-o",
             "-L", str(self.log_path), "-p", str(self.folder / "janus.pid")],
            stdin=subprocess.DEVNULL, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
            stdout=open(self.folder / "janus.stdout", "wb") if os.environ.get("BENCH_JANUS_STDOUT") else subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        async with aiohttp.ClientSession() as http:
            while True:
                if self.proc.poll() is not None:
                    raise JanusError(f"janus exited {self.proc.returncode}:\n{self.log_tail()}")
                try:
                    async with http.get(self.url + "/info", timeout=aiohttp.ClientTimeout(total=1)) as resp:
                        if resp.status == 200:
                            break
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass
                if time.monotonic() > deadline:
                    raise JanusError(f"janus HTTP API not up at {self.url}:\n{self.log_tail()}")
                await asyncio.sleep(0.1)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                await asyncio.get_running_loop().run_in_executor(None, self.proc.wait, 10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.folder is not None and not os.environ.get("BENCH_KEEP_JANUS_DIR"):
            shutil.rmtree(self.folder, ignore_errors=True)

    def cpu_seconds(self) -> float:
        """utime + stime of the Janus process (all its threads), from /proc/<pid>/stat."""
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        # fields[0] is field 3 (state): utime is field 14, stime field 15
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class JanusSession:
    """One Janus session over HTTP, with a long-poll loop routing events to handles."""

    def __init__(self, url: str, keepalive: float = 25.0) -> None:
        self.url = url
        self.keepalive_interval = keepalive
        self.http: aiohttp.ClientSession | None = None
        self.session_id: int | None = None
        self._queues: dict[int, asyncio.Queue[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> JanusSession:
        self.http = aiohttp.ClientSession()
        reply = await self._post(self.url, {"janus": "create"})
        self.session_id = reply["data"]["id"]
        self._tasks = [asyncio.ensure_future(self._poll()), asyncio.ensure_future(self._keepalive())]
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self.session_id is not None:
                await self._post(f"{self.url}/{self.session_id}", {"janus": "destroy"})
        except (JanusError, aiohttp.ClientError, asyncio.TimeoutError):
            pass
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        assert self.http is not None
        await self.http.close()

    async def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self.http is not None
        body = {**body, "transaction": secrets.token_hex(8)}
        async with self.http.post(url, json=body, timeout=aiohttp.ClientTimeout(total=30)) as resp:
            reply: dict[str, Any] = await resp.json(content_type=None)
        if reply.get("janus") == "error":
            raise JanusError(f"{body.get('janus')}: {reply['error']['code']} {reply['error']['reason']}")
        return reply

    async def _poll(self) -> None:
        assert self.http is not None
        url = f"{self.url}/{self.session_id}?maxev=10"
        while True:
            try:
                async with self.http.get(url, timeout=aiohttp.ClientTimeout(total=70)) as resp:
                    events = await resp.json(content_type=None)
            except (aiohttp.ClientError, asyncio.TimeoutError):
                await asyncio.sleep(0.2)
                continue
            for event in events if isinstance(events, list) else [events]:
                sender = event.get("sender")
                if sender is not None:
                    self._queue(sender).put_nowait(event)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self.keepalive_interval)
            await self._post(f"{self.url}/{self.session_id}", {"janus": "keepalive"})

    def _queue(self, handle_id: int) -> asyncio.Queue[dict[str, Any]]:
        return self._queues.setdefault(handle_id, asyncio.Queue())

    async def attach(self) -> VideoRoomHandle:
        reply = await self._post(f"{self.url}/{self.session_id}", {"janus": "attach", "plugin": PLUGIN})
        handle = VideoRoomHandle(self, reply["data"]["id"])
        self._queue(handle.handle_id)
        return handle


class VideoRoomHandle:
    def __init__(self, session: JanusSession, handle_id: int) -> None:
        self.session, self.handle_id = session, handle_id
        self.url = f"{session.url}/{session.session_id}/{handle_id}"

    async def request(self, body: dict[str, Any], jsep: dict[str, Any] | None = None) -> dict[str, Any]:
        """A synchronous plugin request (create, destroy, list...): the plugin's data."""
        message: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            message["jsep"] = jsep
        reply = await self.session._post(self.url, message)
        data: dict[str, Any] = reply.get("plugindata", {}).get("data", {})
        if "error" in data:
            raise JanusError(f"{body['request']}: {data.get('error_code')} {data['error']}")
        return data

    async def send(self, body: dict[str, Any], jsep: dict[str, Any] | None = None,
                   timeout: float = 20.0) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """An asynchronous plugin request: waits for the plugin's event; (data, jsep)."""
        message: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            message["jsep"] = jsep
        reply = await self.session._post(self.url, message)
        if reply.get("janus") == "success":  # answered synchronously
            return reply.get("plugindata", {}).get("data", {}), reply.get("jsep")
        queue = self.session._queue(self.handle_id)
        deadline = time.monotonic() + timeout
        while True:
            event = await asyncio.wait_for(queue.get(), max(0.1, deadline - time.monotonic()))
            if event.get("janus") != "event":
                continue  # webrtcup, media, hangup...: not the reply
            data = event.get("plugindata", {}).get("data", {})
            if "error" in data:
                raise JanusError(f"{body['request']}: {data.get('error_code')} {data['error']}")
            return data, event.get("jsep")

    async def create_room(self, room: int, publishers: int, bitrate: int = 2_000_000) -> None:
        await self.request({"request": "create", "room": room, "publishers": publishers, "bitrate": bitrate,
                            "videocodec": "vp8", "fir_freq": 0, "permanent": False, "notify_joining": False})

    async def destroy_room(self, room: int) -> None:
        await self.request({"request": "destroy", "room": room})

    async def publish(self, room: int, display: str, offer_sdp: str) -> tuple[int, str]:
        """joinandconfigure with the offer (non-trickle: candidates are in the SDP): (feed id, answer)."""
        data, jsep = await self.send({"request": "joinandconfigure", "room": room, "ptype": "publisher",
                                      "display": display, "audio": True, "video": True},
                                     {"type": "offer", "sdp": offer_sdp, "trickle": False})
        if data.get("videoroom") != "joined" or jsep is None:
            raise JanusError(f"publish: unexpected reply {data} jsep={jsep is not None}")
        return int(data["id"]), jsep["sdp"]

    async def subscribe(self, room: int, feed: int) -> str:
        """join as subscriber to one feed: Janus's offer."""
        data, jsep = await self.send({"request": "join", "room": room, "ptype": "subscriber",
                                      "streams": [{"feed": feed}]})
        if data.get("videoroom") != "attached" or jsep is None:
            raise JanusError(f"subscribe: unexpected reply {data} jsep={jsep is not None}")
        return str(jsep["sdp"])

    async def start(self, room: int, answer_sdp: str) -> None:
        await self.send({"request": "start", "room": room}, {"type": "answer", "sdp": answer_sdp, "trickle": False})
