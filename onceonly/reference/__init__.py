"""Public reference data shipped with the product (administrative division codes, 2022).

The source is the Administrative-divisions-of-China data set (WTFPL); see README.md here.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

DISTRICT_CODE = "310110"
DISTRICT_NAME = "杨浦区"


@dataclass(frozen=True, slots=True)
class Subdistrict:
    """One of the district's subdistricts (街道)."""

    code: str  # 9 digits, e.g. 310110001
    name: str  # e.g. 定海路街道


def _rows(filename: str) -> list[dict[str, str]]:
    with resources.files(__name__).joinpath(filename).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@cache
def subdistricts() -> tuple[Subdistrict, ...]:
    """The 12 Yangpu subdistricts in code order."""
    rows = _rows("yangpu_streets.csv")
    return tuple(sorted((Subdistrict(r["code"], r["name"]) for r in rows), key=lambda s: s.code))


@cache
def subdistrict_names() -> dict[str, str]:
    """Subdistrict code to name."""
    return {s.code: s.name for s in subdistricts()}


@cache
def county_codes() -> dict[str, str]:
    """Every current county-level code of China to its name."""
    return {r["code"]: r["name"] for r in _rows("county_codes.csv")}


@cache
def county_places() -> dict[str, str]:
    """County code to a readable place: province, city and county names joined."""
    provinces = {r["code"]: r["name"] for r in _rows("province_codes.csv")}
    cities = {r["code"]: r["name"] for r in _rows("city_codes.csv")}
    places = {}
    for r in _rows("county_codes.csv"):
        city = cities.get(r["cityCode"], "")
        city = "" if city in ("市辖区", "县", "省直辖县级行政区划") else city
        places[r["code"]] = provinces.get(r["provinceCode"], "") + city + r["name"]
    return places
