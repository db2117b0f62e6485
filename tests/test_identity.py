"""ID numbers under GB 11643-1999: check characters, legacy IDs, classification, masking."""

import pytest

from onceonly.identity import (
    IdStatus,
    check_character,
    downgrade_18_to_15,
    has_valid_check_character,
    mask_id,
    read_id,
    upgrade_15_to_18,
)

# Genuine-format IDs that pass the GB 11643 check (from shared/CASES.md).
GOOD = ["11010119900307803X", "310110198001011236", "440304198506120019",
        "510107197602030410", "11010519491231002X"]


@pytest.mark.parametrize("id18", GOOD)
def test_known_good_ids_pass_the_check(id18):
    assert has_valid_check_character(id18)
    assert check_character(id18[:17]) == id18[17]
    assert read_id(id18).status is IdStatus.VALID


@pytest.mark.parametrize("id18", GOOD)
def test_every_wrong_check_character_is_caught(id18):
    for wrong in "0123456789X":
        if wrong != id18[17]:
            assert not has_valid_check_character(id18[:17] + wrong)
            assert read_id(id18[:17] + wrong).status is IdStatus.BAD_CHECK_DIGIT


def test_a_transposed_digit_is_caught():
    assert read_id("310110198001011263").status is IdStatus.BAD_CHECK_DIGIT


def test_full_width_digits_and_lower_case_x_are_normalised():
    reading = read_id("\u3000１１０１０１１９９００３０７８０３ｘ ")
    assert reading.normalised == "11010119900307803X"
    assert reading.status is IdStatus.VALID


def test_legacy_15_digit_id_upgrades_to_its_18_digit_form():
    assert upgrade_15_to_18("310110800101123") == "310110198001011236"
    assert downgrade_18_to_15("310110198001011236") == "310110800101123"
    reading = read_id("310110800101123")
    assert (reading.normalised, reading.status) == ("310110198001011236",
                                                    IdStatus.UPGRADED_FROM_15)


def test_abolished_county_code_is_still_a_valid_id():
    # 310103 (卢湾区) was abolished in 2011; people first registered there keep their IDs.
    first17 = "31010319620415002"
    reading = read_id(first17 + check_character(first17))
    assert reading.status is IdStatus.UNKNOWN_COUNTY
    assert reading.usable


def test_an_excel_number_that_lost_digits_is_corrupted_at_source():
    assert read_id(310110198001011236.0).status is IdStatus.CORRUPTED_AT_SOURCE
    assert read_id("3.10110198001012E+17").status is IdStatus.CORRUPTED_AT_SOURCE


@pytest.mark.parametrize(("raw", "status"), [
    (None, IdStatus.MISSING), ("  ", IdStatus.MISSING), ("31011019800101123", IdStatus.MALFORMED),
    ("310110198002301234", IdStatus.BAD_BIRTH_DATE), ("ABC", IdStatus.MALFORMED),
])
def test_unusable_values_are_classified(raw, status):
    assert read_id(raw).status is status
    assert not read_id(raw).usable


def test_mask_shows_only_first_six_and_last_four():
    assert mask_id("310110198001011236") == "310110********1236"
    assert mask_id("310110800101123") == "310110*****1123"
    assert mask_id(None) == ""
