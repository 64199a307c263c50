"""Time to media back after a media node is lost (issue 14: the goal is under 5 s), against the time to
media up when the same two members first join (the baseline, measured in the same run).

Each run is tests/integration/test_media_node_loss.py's scenario in a private network namespace: two
aiortc media nodes behind gRPC, two signaling processes (PlacedMediaServer), Alice and Bob publishing
video; the node holding the room ``stop``s (deregisters: the registry watch notices) or ``crash``es
(answers Unavailable: the probe, every 0.5 s in this scenario, notices).  Media back = from the node's loss to the
first video frame of the new connection at both members.  Needs root (unshare).

`python bench/media_node_loss.py [--runs N]`
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.netns import require_unshare, run_module  # noqa: E402


def main(runs: int) -> None:
    require_unshare()
    for how in ("stop", "crash"):
        back, first, reset = [], [], []
        for _ in range(runs):
            result, _ = run_module("tests.integration.test_media_node_loss", "scenario", how, timeout=180)
            back.append(result["media_back_s"])
            first.append(result["first_media_s"])
            reset.append(result["reset_after_s"])
        print(f"{how:5}  media back after the loss: median {statistics.median(back):.3f} s, max {max(back):.3f} s"
              f"  (media_reset sent after {statistics.median(reset):.3f} s)"
              f"  | baseline, media up at the first join: median {statistics.median(first):.3f} s"
              f"  | runs {runs}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    main(parser.parse_args().runs)
