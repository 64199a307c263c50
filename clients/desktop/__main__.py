"""``python -m clients.desktop`` (or ``confero-desktop``): the Qt window on asyncio.

asyncio runs on Qt's own event loop through qasync (its QEventLoop is an asyncio selector loop whose
waiting is done by Qt), so aiohttp, the signaling socket and aiortc's UDP transports run on the GUI
thread between Qt events, and tasks may touch widgets directly. The alternative, asyncio in a second
thread with every frame and event posted to Qt through queued signals, would need locking around the
session's state for no gain at these frame rates; qasync works with PySide6 6.12 here (tested headless).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

ENV = "CONFERO_DESKTOP_"


def default_video() -> str:
    return "v4l2:/dev/video0" if Path("/dev/video0").exists() else "test"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m clients.desktop", description="Confero desktop client")
    env = os.environ.get
    p.add_argument("--server", default=env(ENV + "SERVER", "http://127.0.0.1:8800"),
                   help="the server's base URL (env CONFERO_DESKTOP_SERVER)")
    p.add_argument("--video", default=env(ENV + "VIDEO") or default_video(),
                   help="camera: 'test' (a generated test pattern) or FORMAT:DEVICE, e.g. v4l2:/dev/video0 "
                        "(env CONFERO_DESKTOP_VIDEO; default the V4L2 camera if there is one, else 'test')")
    p.add_argument("--audio", default=env(ENV + "AUDIO", "silence"),
                   help="microphone: 'silence', 'tone' (440 Hz) or FORMAT:DEVICE, e.g. pulse:default "
                        "(env CONFERO_DESKTOP_AUDIO)")
    p.add_argument("--speaker", default=env(ENV + "SPEAKER", "alsa:default"),
                   help="where the others' audio plays: FORMAT:DEVICE, e.g. alsa:default, or 'none' "
                        "(env CONFERO_DESKTOP_SPEAKER)")
    p.add_argument("--username", default=env(ENV + "USERNAME", ""), help="prefills the sign-in form")
    p.add_argument("--ice-address", action="append", default=[a for a in env(ENV + "ICE_ADDRESSES", "").split(",") if a],
                   help="gather ICE candidates on this address only (repeatable; env CONFERO_DESKTOP_ICE_ADDRESSES, "
                        "comma-separated): e.g. 127.0.0.1 on a host without another interface")
    return p


async def run_window(options: object, ice_addresses: list[str]) -> None:
    import aiohttp

    from clients.desktop.media import use_host_addresses
    from clients.desktop.ui import MainWindow

    if ice_addresses:
        use_host_addresses(ice_addresses)
    async with aiohttp.ClientSession() as http:
        window = MainWindow(options, http)  # type: ignore[arg-type]
        window.show()
        await window.closed


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    import qasync
    from PySide6.QtWidgets import QApplication

    from clients.desktop.ui import Options

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)  # closing the window leaves the meeting first (MainWindow.closed)
    options = Options(server=args.server, video=args.video, audio=args.audio, speaker=args.speaker,
                      username=args.username)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(run_window(options, args.ice_address))


if __name__ == "__main__":
    main()
