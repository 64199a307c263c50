"""Names and titles people read: NFKC, nothing invisible or direction-changing, no imitation of staff."""

from __future__ import annotations

import pytest

from domain.meetings.errors import InvalidMeetingData
from domain.meetings.rules import check_description, check_title
from domain.shared import text
from domain.users.errors import InvalidUserData
from domain.users.model import normalize_display_name, normalize_username
from runners import shapes

INVISIBLE_OR_DIRECTIONAL = {
    "lone surrogate": "Ann\ud800",
    "zero-width space only": "\u200b",
    "zero-width space inside": "An\u200bn",
    "word joiner": "An\u2060n",
    "byte order mark": "\ufeffAnn",
    "right-to-left override": "Ann\u202egnp.exe",
    "left-to-right embedding": "\u202aAnn",
    "right-to-left mark": "Ann\u200f",
    "first strong isolate": "\u2068Ann\u2069",
    "right-to-left isolate": "\u2067Ann",
    "C1 control (NEL)": "Ann\x85",
    "C1 control (CSI)": "Ann\x9b31m",
    "DEL": "Ann\x7f",
    "tag characters": "Ann\U000e0061\U000e0064",
    "Hangul filler": "\u3164",
    "private use": "Ann\ue000",
    "a joiner that joins nothing": "Ann\u200d",
    "only a combining mark": "\u0301",
}


@pytest.mark.parametrize("raw", INVISIBLE_OR_DIRECTIONAL.values(), ids=INVISIBLE_OR_DIRECTIONAL.keys())
def test_display_names_and_titles_refuse_invisible_and_direction_changing_characters(raw: str) -> None:
    with pytest.raises(InvalidUserData) as err:
        normalize_display_name(raw)
    assert err.value.details == {"field": "display_name"}
    with pytest.raises(InvalidMeetingData):
        check_title(raw)


@pytest.mark.parametrize("raw", [v for k, v in INVISIBLE_OR_DIRECTIONAL.items() if "only" not in k
                                 and k != "Hangul filler"])
def test_descriptions_refuse_them_too(raw: str) -> None:
    with pytest.raises(InvalidMeetingData):
        check_description(f"Agenda:\n{raw}")


@pytest.mark.parametrize("raw,stored", [
    ("Zoë Ørsted", "Zoë Ørsted"),
    ("Ｆｕｌｌ Ｗｉｄｔｈ", "Full Width"),  # NFKC: one spelling per name
    ("Ｚｏｅ\u0308", "Zoë"),  # NFKC composes
    ("  Ann \t Lee \n", "Ann Lee"),
    ("👩\u200d💻 dev", "👩\u200d💻 dev"),  # emoji sequences keep their joiner
    ("❤\ufe0f fan", "❤\ufe0f fan"),
    ("می\u200cخواهم", "می\u200cخواهم"),  # Persian needs the zero-width non-joiner
    ("नमस्ते", "नमस्ते"),
    ("Анна Smith", "Анна Smith"),  # mixed scripts are real names
    ("Hostess Ann", "Hostess Ann"),
])
def test_ordinary_names_in_any_script_are_accepted_in_one_normal_form(raw: str, stored: str) -> None:
    assert normalize_display_name(raw) == stored


@pytest.mark.parametrize("raw", ["admin", "Administrator", "ADMIN", "аdmin",  # Cyrillic а
                                 "adm\u0131n", "adrnin", "[Admin]", "a d m i n", "Ａｄｍｉｎ", "Sуstem",
                                 "m0derator", "Support Team", "The Host", "r00t", "admіn"])
def test_display_names_may_not_imitate_reserved_names(raw: str) -> None:
    with pytest.raises(InvalidUserData, match="reserved"):
        normalize_display_name(raw)


def test_titles_may_name_a_role() -> None:
    assert check_title("Ask the Administrator") == "Ask the Administrator"


def test_descriptions_keep_their_lines_and_compatibility_characters() -> None:
    assert check_description("Line 1\n\tm² and ﬁ\n") == "Line 1\n\tm² and ﬁ\n"


def test_full_width_usernames_fold_to_ascii() -> None:
    assert normalize_username("ａｌｉｃｅ") == "alice"
    with pytest.raises(InvalidUserData):
        normalize_username("al\ud800ice")


def test_unstorable_path_names_where_a_lone_surrogate_hides() -> None:
    assert shapes.unstorable_path({"a": [1, {"b": "ok"}, {"c": "x\udc00"}]}) == "a/2/c"
    assert shapes.unstorable_path({"a": ["fine", "é", "😀"]}) is None
    assert shapes.unstorable_path("\ud83d") == "(body)"
    assert shapes.unstorable_path({"\ud800": 1}) == "(body)"
