"""Time to media back after a client's network changes (issue 16: the goal is under 3 s), with the ICE
restart of docs/signaling.md 13.12 against the old way in the same run (the baseline: a plain offer from
a new connection, which replaces the old one as a departure and an arrival).

Each run is tests/integration/test_sfu_ice_restart.py's scenario: the SFU and three members in one
private network namespace, the moving member in another one behind a veth pair; its address is deleted
and replaced, and it restarts at once.  Media back = from the address change to the first video frame
of the mover at every other member and of every other member at the mover.  Needs root (unshare).

`python bench/ice_restart.py [--runs N]`
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.netns import require_unshare, run_module  # noqa: E402

MODES = {"restart": "ICE restart (offer with restart)", "replace": "baseline: plain offer, new connection"}


def main(runs: int) -> None:
    require_unshare()
    for mode, title in MODES.items():
        back, from_mover, to_mover, offers, absent, failed = [], [], [], [], [], 0
        for _ in range(runs):
            try:
                result, _ = run_module("tests.integration.test_sfu_ice_restart", "scenario", mode, timeout=120)
            except AssertionError as exc:  # media not back within the scenario's 20 s, or a crash: counted
                failed += 1
                print(f"{mode}: a run failed: {str(exc).strip().splitlines()[-1][:2000]}", file=sys.stderr)
                continue
            back.append(result["media_back_s"])
            from_mover.append(max(result["from_mover_s"]))
            to_mover.append(result["to_mover_s"])
            offers.append(sum(result["others_sfu_offers_during"]))
            absent.append(result["mover_absent_samples"] > 0)
        if not back:
            print(f"{title:40}  every run failed ({failed})")
            continue
        print(f"{title:40}  media back: median {statistics.median(back):.3f} s, max {max(back):.3f} s"
              f"  (the others see the mover: {statistics.median(from_mover):.3f} s, the mover sees them:"
              f" {statistics.median(to_mover):.3f} s)  | SFU offers to the 3 others: {statistics.median(offers):g}"
              f"  | mover out of the SFU's room in {sum(absent)}/{len(back)} runs  | runs {runs}, failed {failed}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    main(parser.parse_args().runs)
