"""Reads: the seed's sample, record shape and order, ids, 404s, petition types, filtering and paging."""
from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_api.service.scopes import READ
from mock_api.state import MockState
from support import bearer, token_for

SEED_SAMPLE: list[dict[str, Any]] = [
    {"id": "2907841-Q25-24W=L-APPV", "netid": "f0027k4", "petition_code": "Q25",
     "petition_name": "Reduce Sr Yr Residence Req", "origin_code": "UREG", "origin_name": "UG - Registrar",
     "school": "UG", "decision": "APPV", "grade_term": "24W=L", "effective_date": "2021-03-02T05:00:00Z",
     "cache_date": "2022-05-07T23:49:22Z"},
    {"id": "2907841-Q24--FIVEYEAR", "netid": "f0027k4", "petition_code": "Q24",
     "petition_name": "Five+ Year Enrollment Pattern", "origin_code": "UREG", "origin_name": "UG - Registrar",
     "school": "UG", "decision": "FIVE YEAR", "grade_term": None, "effective_date": "2021-03-02T05:00:00Z",
     "cache_date": "2022-05-07T23:49:22Z"},
]
FIELDS = list(SEED_SAMPLE[0])
STARTED = "2024-11-20T19:30:53Z"  # the frozen clock of tests/conftest.py: the cache's first refresh


def without_cache_date(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "cache_date"} for r in records]


def get(client: FlaskClient, headers: dict[str, str], path: str, **params: Any) -> Any:
    return client.get(path, query_string=params, headers=headers)


@pytest.mark.parametrize("path", ["/api/academic/petitions/", "/api/academic/petitions"])
def test_seed_sample_request_returns_the_seed_sample(client: FlaskClient, ro: dict[str, str], path: str) -> None:
    response = get(client, ro, path, netid="f0027k4")
    assert response.status_code == 200
    assert response.content_type == "application/json"
    body = response.get_json()
    assert without_cache_date(body) == without_cache_date(SEED_SAMPLE)
    assert [list(r) for r in body] == [FIELDS, FIELDS]
    assert [r["cache_date"] for r in body] == [STARTED, STARTED]
    # Field order on the wire, not only in the parsed dict.
    raw = response.get_data(as_text=True)
    assert raw.index('"id"') < raw.index('"netid"') < raw.index('"petition_code"') < raw.index('"cache_date"')


def test_one_petition_by_id(client: FlaskClient, ro: dict[str, str]) -> None:
    response = get(client, ro, "/api/academic/petitions/2907841-Q24--FIVEYEAR")
    assert response.status_code == 200
    assert without_cache_date([response.get_json()]) == without_cache_date([SEED_SAMPLE[1]])
    assert list(response.get_json()) == FIELDS


@pytest.mark.parametrize("key", ["no-such-id", "2907841-Q25-24W=L-DENY", "673e4c83255f18cce280f5d7", "%00", "x" * 500])
def test_unknown_petition_is_404(client: FlaskClient, ro: dict[str, str], key: str) -> None:
    response = get(client, ro, f"/api/academic/petitions/{key}")
    assert (response.status_code, response.get_json()) == (404, {"detail": "Not Found"})


@pytest.mark.parametrize("path", ["/api/academic/petitions//", "/api/academic/petitions/%2F",
                                  "/api//academic/petitions", "//api/petition_types", "/api/students//petitions"])
def test_doubled_slashes_are_a_json_404_never_a_redirect(client: FlaskClient, ro: dict[str, str], path: str) -> None:
    response = client.get(path, headers=ro)
    assert (response.status_code, response.get_json()) == (404, {"detail": "Not Found"})
    assert "Location" not in response.headers


@pytest.mark.parametrize("path", ["/api/academic/petitions", "/api/academic/petitions/x", "/api/tasks/" + "0" * 24,
                                  "/_mock/health"])
def test_options_is_a_json_405_like_any_wrong_method(client: FlaskClient, path: str) -> None:
    response = client.options(path)
    assert (response.status_code, response.get_json()) == (405, {"detail": "Method Not Allowed"})
    assert "OPTIONS" not in response.headers["Allow"]


def test_non_petition_events_are_never_served(client: FlaskClient, ro: dict[str, str]) -> None:
    everything = get(client, ro, "/api/academic/petitions", pagesize=1000).get_json()
    assert everything and all(r["petition_code"][0] in "QR" for r in everything)
    assert get(client, ro, "/api/academic/petitions", petition_code="A05").get_json() == []


def test_ids_follow_the_documented_format(client: FlaskClient, ro: dict[str, str], state: MockState) -> None:
    for record in get(client, ro, "/api/academic/petitions", pagesize=1000).get_json():
        pidm = state.dataset.students[record["netid"]].pidm
        decision = record["decision"].replace(" ", "")
        expected = f"{pidm}-{record['petition_code']}-{record['grade_term'] or ''}-{decision}"
        assert record["id"] == expected
        assert len(pidm) == 7 and pidm.isdigit()


def test_student_petitions(client: FlaskClient, ro: dict[str, str]) -> None:
    response = get(client, ro, "/api/students/f0027k4/petitions")
    assert response.status_code == 200
    assert without_cache_date(response.get_json()) == without_cache_date(SEED_SAMPLE)
    assert get(client, ro, "/api/students/f0027k4/petitions", petition_code="Q24").get_json()[0]["id"] == \
        "2907841-Q24--FIVEYEAR"
    assert get(client, ro, "/api/students/f006s0b/petitions").get_json() == []


def test_unknown_student_is_404(client: FlaskClient, ro: dict[str, str]) -> None:
    response = get(client, ro, "/api/students/nobody/petitions")
    assert (response.status_code, response.get_json()) == (404, {"detail": "Not Found"})


def test_petition_types(client: FlaskClient, ro: dict[str, str]) -> None:
    types = get(client, ro, "/api/petition_types").get_json()
    codes = [t["id"] for t in types]
    assert codes == sorted(codes) and "Q25" in codes and "A05" not in codes and "H01" not in codes
    assert all(list(t) == ["id", "petition_code", "petition_name"] for t in types)
    one = get(client, ro, "/api/petition_types/Q25")
    assert one.get_json() == {"id": "Q25", "petition_code": "Q25", "petition_name": "Reduce Sr Yr Residence Req"}
    assert get(client, ro, "/api/petition_types/A05").status_code == 404
    assert get(client, ro, "/api/petition_types", petition_code="R*").get_json() == \
        [t for t in types if t["id"].startswith("R")]


# -- filtering ------------------------------------------------------------------------------------
def ids(client: FlaskClient, headers: dict[str, str], **params: Any) -> list[str]:
    return [r["id"] for r in get(client, headers, "/api/academic/petitions", pagesize=1000, **params).get_json()]


def test_exact_match_on_any_attribute(client: FlaskClient, ro: dict[str, str]) -> None:
    assert ids(client, ro, id="2907841-Q25-24W=L-APPV") == ["2907841-Q25-24W=L-APPV"]
    assert ids(client, ro, netid="f0027k4", decision="FIVE YEAR") == ["2907841-Q24--FIVEYEAR"]
    records = get(client, ro, "/api/academic/petitions", pagesize=1000).get_json()
    for field in ("petition_code", "origin_code", "school", "decision", "petition_name", "effective_date"):
        value = records[5][field]
        assert ids(client, ro, **{field: value}) == [r["id"] for r in records if r[field] == value], field
    assert ids(client, ro, netid="F0027K4") == []  # exact means case-sensitive


def test_empty_value_matches_null(client: FlaskClient, ro: dict[str, str]) -> None:
    found = get(client, ro, "/api/academic/petitions", pagesize=1000, grade_term="").get_json()
    assert found and all(r["grade_term"] is None for r in found)
    assert "2907841-Q24--FIVEYEAR" in [r["id"] for r in found]


def test_trailing_wildcard(client: FlaskClient, ro: dict[str, str]) -> None:
    records = get(client, ro, "/api/academic/petitions", pagesize=1000).get_json()
    assert ids(client, ro, id="2907841-*") == ["2907841-Q25-24W=L-APPV", "2907841-Q24--FIVEYEAR"]
    assert ids(client, ro, petition_code="R*") == [r["id"] for r in records if r["petition_code"].startswith("R")]
    assert ids(client, ro, grade_term="*") == [r["id"] for r in records if r["grade_term"] is not None]


@pytest.mark.parametrize("op", [">", ">=", "<", "<="])
def test_comparisons(client: FlaskClient, ro: dict[str, str], op: str) -> None:
    records = get(client, ro, "/api/academic/petitions", pagesize=1000).get_json()
    pivot = sorted(r["effective_date"] for r in records)[len(records) // 2]
    compare = {">": str.__gt__, ">=": str.__ge__, "<": str.__lt__, "<=": str.__le__}[op]
    expected = [r["id"] for r in records if compare(r["effective_date"], pivot)]
    assert expected and ids(client, ro, effective_date=f"{op}{pivot}") == expected


def test_unknown_and_misspelt_attributes_are_silently_dropped(client: FlaskClient, ro: dict[str, str]) -> None:
    everything = ids(client, ro)
    assert ids(client, ro, netidd="f0027k4") == everything
    assert ids(client, ro, **{"student.netid": "x", "first_name": "Jo*", "scope": "y"}) == everything
    assert ids(client, ro, netid="f0027k4", nope="1") == ids(client, ro, netid="f0027k4")


def test_nothing_qualifies_is_an_empty_200(client: FlaskClient, ro: dict[str, str]) -> None:
    response = get(client, ro, "/api/academic/petitions", netid="nobody")
    assert (response.status_code, response.get_json(), response.headers["X-Count"]) == (200, [], "0")


# -- paging ---------------------------------------------------------------------------------------
def test_default_pagesize_is_100_and_count_header_is_total(client: FlaskClient, ro: dict[str, str]) -> None:
    response = get(client, ro, "/api/academic/petitions")
    total = int(response.headers["X-Count"])
    assert total > 100 and len(response.get_json()) == 100
    assert len(ids(client, ro)) == total


def test_pages_with_continuation_key_come_from_the_first_found_set(
        client: FlaskClient, rw: dict[str, str], state: MockState) -> None:
    first = get(client, rw, "/api/academic/petitions", pagesize=7, petition_code="Q*")
    key, total = first.headers["X-Request-ID"], int(first.headers["X-Count"])
    # A write between pages does not change the found set the later pages come from.
    posted = client.post("/api/academic/petitions", headers=rw, json={"petition": {
        "netid": "f006s0b", "petition_code": "Q31", "origin_code": "UREG", "school": "UG",
        "decision": "APPV", "grade_term": "24F", "user_netid": "f006s0b"}})
    assert posted.status_code == 202
    state.clock.advance(5)
    pages = [first.get_json()]
    number = 2
    while len(pages[-1]) == 7:
        more = get(client, rw, "/api/academic/petitions", pagesize=7, page=number, continuation_key=key,
                   petition_code="R*")  # filters of later calls do not change the found set
        assert more.status_code == 200 and more.headers["X-Count"] == str(total)
        pages.append(more.get_json())
        number += 1
    paged = [r["id"] for page in pages for r in page]
    assert len(paged) == total == len(set(paged))
    assert "2911310-Q31-24F-APPV" not in paged
    assert "2911310-Q31-24F-APPV" in ids(client, rw, petition_code="Q*")


def test_each_response_has_a_fresh_request_id(client: FlaskClient, ro: dict[str, str]) -> None:
    keys = {get(client, ro, "/api/academic/petitions").headers["X-Request-ID"] for _ in range(5)}
    assert len(keys) == 5


@pytest.mark.parametrize("key", ["nope", "", "00000000-0000-4000-8000-000000000000"])
def test_unknown_continuation_key_is_400(client: FlaskClient, ro: dict[str, str], key: str) -> None:
    response = get(client, ro, "/api/academic/petitions", continuation_key=key)
    if key == "":
        assert response.status_code == 200  # an empty key is no key
    else:
        assert (response.status_code, response.get_json()) == (400, {"detail": "Unknown or expired continuation_key"})


def test_continuation_key_works_only_on_the_collection_that_made_it(client: FlaskClient, ro: dict[str, str]) -> None:
    petitions = get(client, ro, "/api/academic/petitions", netid="f0027k4").headers["X-Request-ID"]
    types = get(client, ro, "/api/petition_types").headers["X-Request-ID"]
    student = get(client, ro, "/api/students/f0027k4/petitions").headers["X-Request-ID"]
    refused = (400, {"detail": "Unknown or expired continuation_key"})
    for path, key in (("/api/petition_types", petitions), ("/api/academic/petitions", types),
                      ("/api/students/f006s0b/petitions", student), ("/api/academic/petitions", student)):
        response = get(client, ro, path, continuation_key=key)
        assert (response.status_code, response.get_json()) == refused, path
    same = get(client, ro, "/api/academic/petitions/", continuation_key=petitions)  # the trailing slash is one route
    assert [r["id"] for r in same.get_json()] == ["2907841-Q25-24W=L-APPV", "2907841-Q24--FIVEYEAR"]
    assert get(client, ro, "/api/students/f0027k4/petitions", continuation_key=student).status_code == 200


def test_found_sets_expire_after_12_hours(client: FlaskClient, ro: dict[str, str], state: MockState) -> None:
    key = get(client, ro, "/api/academic/petitions", pagesize=5).headers["X-Request-ID"]
    state.clock.advance(2 * 3600)
    assert get(client, ro, "/api/academic/petitions", continuation_key=key, page=2, pagesize=5).status_code == 200
    fresh = get(client, ro, "/api/academic/petitions", pagesize=5).headers["X-Request-ID"]
    state.clock.advance(10 * 3600 + 1)
    ro = bearer(token_for(client, "dev-readonly", (READ,)))  # the first token expired after 3 h
    assert get(client, ro, "/api/academic/petitions", continuation_key=key, page=2).status_code == 400
    assert get(client, ro, "/api/academic/petitions", continuation_key=fresh, page=2).status_code == 200


@pytest.mark.parametrize(("params", "size", "first"), [
    ({"pagesize": "5", "page": "2"}, 5, 5), ({"pagesize": "abc"}, 100, 0), ({"pagesize": "0"}, 100, 0),
    ({"pagesize": "-3"}, 100, 0), ({"page": "0", "pagesize": "5"}, 5, 0), ({"page": "x", "pagesize": "5"}, 5, 0),
    ({"pagesize": "5000"}, 1000, 0)])
def test_page_parameters(client: FlaskClient, ro: dict[str, str], params: dict[str, str], size: int,
                         first: int) -> None:
    everything = ids(client, ro)
    page = [r["id"] for r in get(client, ro, "/api/academic/petitions", **params).get_json()]
    assert page == everything[first:first + size]


def test_page_past_the_end_is_empty(client: FlaskClient, ro: dict[str, str]) -> None:
    assert get(client, ro, "/api/academic/petitions", page=9999).get_json() == []


def test_cache_date_moves_with_the_hourly_refresh(client: FlaskClient, ro: dict[str, str], state: MockState) -> None:
    state.clock.advance(3599)
    assert get(client, ro, "/api/academic/petitions", netid="f0027k4").get_json()[0]["cache_date"] == STARTED
    state.clock.advance(1)
    assert get(client, ro, "/api/academic/petitions", netid="f0027k4").get_json()[0]["cache_date"] == \
        "2024-11-20T20:30:53Z"
