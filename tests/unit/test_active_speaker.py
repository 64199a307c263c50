"""The loudest audible member becomes the active speaker after 1.5 s of being the loudest."""

from __future__ import annotations

from domain.rooms.speaker import ActiveSpeakerDetector, loudness_from_level, loudness_from_size
from domain.shared.ids import UserId

ANN, BOB = UserId("ann"), UserId("bob")


def talk(detector: ActiveSpeakerDetector, start: float, end: float, **loudness: float) -> list[UserId | None]:
    decided, t = [], start
    while t < end:
        for user, value in loudness.items():
            detector.observe(UserId(user), value, t)
        decided.append(detector.decide(t))
        t += 0.02
    return decided


def test_nobody_is_announced_before_someone_has_been_loudest_for_the_hold_time() -> None:
    detector = ActiveSpeakerDetector(hold=1.5)
    decided = talk(detector, 0, 1.4, ann=0.8, bob=0.0)
    assert set(decided) == {None}
    assert talk(detector, 1.4, 2.2, ann=0.8, bob=0.0)[-1] == ANN


def test_a_short_interruption_does_not_take_the_floor_but_a_long_one_does() -> None:
    detector = ActiveSpeakerDetector(hold=1.5)
    talk(detector, 0, 2.0, ann=0.8, bob=0.0)
    assert set(talk(detector, 2.0, 3.0, ann=0.0, bob=0.9)) == {ANN}
    assert talk(detector, 3.0, 4.0, ann=0.0, bob=0.9)[-1] == BOB


def test_silence_keeps_the_last_speaker_and_a_member_who_leaves_is_forgotten() -> None:
    detector = ActiveSpeakerDetector(hold=1.5)
    talk(detector, 0, 2.0, ann=0.8)
    assert talk(detector, 2.0, 5.0, ann=0.0, bob=0.1)[-1] == ANN
    detector.forget(ANN)
    assert detector.decide(5.0) is None


def test_levels_and_frame_sizes_map_to_loudness() -> None:
    assert loudness_from_level(127) == 0.0 and loudness_from_level(0) == 1.0
    assert loudness_from_level(20) > 0.7 > loudness_from_level(60)
    assert loudness_from_size(8) == 0.0 and loudness_from_size(150) == 1.0
