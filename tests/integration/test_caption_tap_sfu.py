"""The captions tap on the real SFU (aiortc, private network namespace): a member's spoken sentences
reach speech-to-text one utterance each (a short pause stays inside one), attributed to them, while
the other member, publishing silence, opens no stream and still receives the speaker's audio."""

from __future__ import annotations

from tests.support.netns import require_unshare, run_module


def test_spoken_sentences_on_a_real_sfu_become_one_stream_each_and_forwarding_goes_on():
    require_unshare()
    result, output = run_module("tests.support.caption_rig", timeout=120)
    alice = "00000000-0000-4000-8000-00000000a11c"
    assert [s["speaker"] for s in result["streams"]] == [alice] * 2, output[-3000:]
    first, second, third = result["said_s"]
    for stream, said in zip(result["streams"], (first + 0.4 + second, third)):
        assert said - 0.6 < stream["seconds"] < said + 0.6  # with its preroll, not the long pauses
    assert [c["speaker"] for c in result["captions"]] == [alice] * 2
    assert result["stats"]["dropped"] == 0
    assert result["bob_received"] > 50 * 10  # Bob heard Alice all along (20 ms frames)
