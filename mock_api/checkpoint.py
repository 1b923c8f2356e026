"""A session's whole emulated state as one mock_api.snapshot/1 JSON document, and back (GET/PUT /_mock/snapshot)."""
from __future__ import annotations

import hashlib
import json
import re
import threading
from pathlib import Path
from typing import Any

from mock_api.config import VERSION
from mock_api.contract.journal import SECRET_HEADERS, Journal, mask_header
from mock_api.data.fixtures import Student
from mock_api.data.yaml_schema import first_problem, load_validator
from mock_api.scenarios.catalog import Scenario, ScenarioError
from mock_api.service.backend import Backend
from mock_api.service.clock import Clock, iso_micro_z
from mock_api.service.dataset import Dataset
from mock_api.service.ids import IdSource
from mock_api.service.randomness import SeededRandom
from mock_api.service.records import RECORD_FIELDS, StoredPetition
from mock_api.service.requests import bearer_token
from mock_api.service.tokens import TokenError, verify
from mock_api.state import MockState

SCHEMA = Path(__file__).resolve().parent / "snapshot.schema.json"
FORMAT_NAME, FORMAT_VERSION = "mock_api.snapshot", 1
FORMAT = f"{FORMAT_NAME}/{FORMAT_VERSION}"
_FORMAT = re.compile(r"mock_api\.snapshot/([0-9]{1,6})")
_DIGESTS: dict[int, tuple[Dataset, str]] = {}  # by the data set's id; it is kept, so the id stays its own
_DIGESTS_KEPT = 8
_digest_lock = threading.Lock()


class SnapshotError(ValueError):
    """A document that is not a snapshot this version reads (400); the message names the key."""


class SnapshotConflict(SnapshotError):
    """A snapshot of other data, a newer format or a scenario this server cannot load (409): says what differs."""


def data_digest(dataset: Dataset) -> str:
    """sha256 of the data set the fixtures, seed and student count built: every account, student and
    petition by id. Computed once per data set."""
    with _digest_lock:
        known = _DIGESTS.get(id(dataset))
        if known is not None and known[0] is dataset:
            return known[1]
    digest = hashlib.sha256()
    for name in sorted(dataset.accounts):
        digest.update(f"a\0{name}\n".encode())
    for netid in sorted(dataset.students):
        digest.update(f"s\0{netid}\0{dataset.students[netid].pidm}\n".encode())
    for entry in dataset.petitions.entries:
        digest.update(f"p\0{entry.row[0]}\0{entry.mongo_id}\n".encode())
    text = "sha256:" + digest.hexdigest()
    with _digest_lock:
        if len(_DIGESTS) >= _DIGESTS_KEPT:
            _DIGESTS.pop(next(iter(_DIGESTS)))
        _DIGESTS[id(dataset)] = (dataset, text)
    return text


def _journal_record(record: dict[str, Any], state: MockState) -> dict[str, Any]:
    """A journal record with its secrets masked, except a bearer token this mock signed and that was valid
    then: it grants nothing anywhere else, and verification by `token` needs it."""
    def shown(name: str, value: str) -> str:
        token = bearer_token(value) if name.lower() == "authorization" else None
        if token is not None:
            try:
                verify(token, state.config.signing_key, float(record["time"]))
                return value
            except TokenError:
                pass
        return mask_header(name, value) if name.lower() in SECRET_HEADERS else value
    if "headers" in record:
        record = {**record, "headers": [[name, shown(name, value)] for name, value in record["headers"]]}
    return record


TYPE_REF = "petition_type:"  # a found set's petition type, by its id (a Mongo id is 24 hex digits: no clash)


def _found_ref(item: StoredPetition | dict[str, Any]) -> str:
    return item.mongo_id if isinstance(item, StoredPetition) else TYPE_REF + str(item["id"])


def _backend_part(backend: Backend) -> dict[str, Any]:
    with backend.lock:
        held, next_cursor = backend._tasks.export()
        petitions = [list(entry.row) for entry in backend.created.entries]
        found_sets: list[list[Any]] = []
        orphans: dict[str, list[Any]] = {}
        for key, created, items in backend.found_sets.export():
            for item in items:  # petitions by Mongo id; petition types (dicts) by TYPE_REF and their id
                if isinstance(item, StoredPetition) and backend.created.lookup(item.mongo_id) is None \
                        and backend.dataset.petitions.lookup(item.mongo_id) is None:
                    orphans[item.mongo_id] = list(item.row)  # a written one dropped since
            found_sets.append([key, created, [_found_ref(item) for item in items]])
        return {"started_at": backend.started_at, "petitions": petitions,
                "students": [[s.netid, s.pidm, s.first_name, s.last_name] for s in backend.extra_students.values()],
                "tasks": held, "next_task_cursor": next_cursor,
                "queue": [list(item) for item in backend._queue.export()],
                "found_sets": found_sets, "found_set_orphans": orphans}


def take(state: MockState, journal: bool = True) -> dict[str, Any]:
    """The session's state now: seed, data digest, clock, scenario and counters, ids and dice, what was
    written, tasks, found sets, and (unless `journal` is False) the journal."""
    with state.lock:
        now = state.clock.now()
        counts, dropped = state.counters.export()
        document: dict[str, Any] = {
            "format": FORMAT, "mock_api": VERSION, "seed": state.dataset.seed,
            "data": {"digest": data_digest(state.dataset), "students": len(state.dataset.students),
                     "petitions": len(state.dataset.petitions)},
            "clock": {"now": iso_micro_z(now), "epoch": now, "frozen": state.clock.frozen},
            "scenario": {"name": state.scenario.name, "source": state.scenario.source},
            "counters": {"counts": [[list(key) if isinstance(key, tuple) else key, count] for key, count in counts],
                         "dropped": dropped,
                         "windows": [[list(key), place, ends] for key, place, ends in state.counters.windows()]},
            "ids": state.ids.position(), "dice": state.dice.position(),
            "backend": _backend_part(state.backend)}
        if journal:
            document["journal"] = [_journal_record(r, state) for r in state.journal.records()]
    return document


def summary(state: MockState) -> dict[str, Any]:
    """What PUT /_mock/snapshot answers: the restored state in a few fields."""
    now = state.clock.now()
    return {"status": "restored", "format": FORMAT, "clock": {"now": iso_micro_z(now), "frozen": state.clock.frozen},
            "scenario": state.scenario.name, "tasks": state.backend.task_count(),
            "journal": len(state.journal.records())}


def check_origin(state: MockState, document: Any) -> None:
    """SnapshotError unless a snapshot object; SnapshotConflict naming what differs from this server's."""
    if not isinstance(document, dict):
        raise SnapshotError(f"snapshot: expected a JSON object with \"format\": \"{FORMAT}\"")
    found = _FORMAT.fullmatch(str(document.get("format")))
    if found is None:
        raise SnapshotError(f"format: expected \"{FORMAT}\", got {document.get('format')!r}")
    if int(found.group(1)) > FORMAT_VERSION:
        raise SnapshotConflict(f"format: {document['format']} is newer than this mock_api ({VERSION}) reads "
                               f"({FORMAT}); use the mock_api {document.get('mock_api')} that wrote it")
    differs = []
    if document.get("seed") != state.dataset.seed:
        differs.append(f"seed: the snapshot's {document.get('seed')!r}, this server's {state.dataset.seed}")
    data: dict[str, Any] = document["data"] if isinstance(document.get("data"), dict) else {}
    if data.get("digest") != data_digest(state.dataset):
        dataset = state.dataset
        differs.append(f"data: made from other fixtures or --students (the snapshot's {data.get('students')!r} "
                       f"students and {data.get('petitions')!r} petitions, this server's {len(dataset.students)} "
                       f"and {len(dataset.petitions)}); start with the same --fixtures, --seed and --students")
    if differs:
        raise SnapshotConflict("; ".join(differs))


def _scenario(state: MockState, part: dict[str, Any]) -> Scenario:
    name, source = str(part["name"]), str(part["source"])
    try:
        if source == "built-in" or name == state.startup_scenario.name:
            return state.scenarios.named(name)
        path = Path(source).resolve()
        if any(path.is_relative_to(folder) for folder in state.config.scenario_dirs):
            return state.scenarios.load_file(path)
    except (ScenarioError, OSError) as exc:
        raise SnapshotConflict(f"scenario: {exc}") from None
    raise SnapshotConflict(f"scenario: {name!r} was loaded from {source}, which this server loads only from a "
                           "--scenarios-dir given at start-up")


def _backend(state: MockState, part: dict[str, Any]) -> Backend:
    backend = Backend(state.dataset, state.clock, state.ids, state.config, state.budget, state.name)
    try:
        _fill(state, backend, part)
    except BaseException:
        backend.close()  # a bad document: nothing of it stays charged to the memory budget
        raise
    return backend


def _fill(state: MockState, backend: Backend, part: dict[str, Any]) -> None:
    """Put the snapshot's backend part in a fresh backend (ValueError, KeyError, TypeError for a bad one)."""
    backend.started_at = float(part["started_at"])
    for row in part["petitions"]:
        backend.hold_petition(_petition(row))
    for netid, pidm, first, last in part["students"]:
        backend.extra_students[str(netid)] = Student(str(netid), str(pidm), str(first), str(last))
    for task in part["tasks"]:
        if "json" in task and not isinstance(json.loads(task["json"]), dict):
            raise ValueError(f"task {task['id']}: json is not a task")
    backend._tasks.restore(list(part["tasks"]), int(part["next_task_cursor"]))
    backend._queue.restore([(float(d), int(n), str(t), bool(f), bool(s)) for d, n, t, f, s in part["queue"]])
    for number in backend._tasks.drop_over_cap():  # this server's --max-tasks, as a submit applies it
        backend._queue.drop(number)
    orphans = {key: _petition(row) for key, row in dict(part["found_set_orphans"]).items()}

    types = {TYPE_REF + str(kind["id"]): kind for kind in state.dataset.petition_types}

    def item(ref: str) -> StoredPetition | dict[str, Any]:
        found = (backend.created.lookup(ref) or state.dataset.petitions.lookup(ref) or orphans.get(ref)
                 or types.get(ref))
        if found is None:
            raise ValueError(f"found set item {ref!r} is no petition nor petition type")
        return found
    backend.found_sets.restore([(str(key), float(created), [item(ref) for ref in refs])
                                for key, created, refs in part["found_sets"]])


def _petition(row: list[Any]) -> StoredPetition:
    if not isinstance(row, list) or len(row) != len(RECORD_FIELDS) + 3:
        raise ValueError(f"a petition row has {len(RECORD_FIELDS) + 3} values")
    return StoredPetition(dict(zip(RECORD_FIELDS, row, strict=False)), str(row[-3]), float(row[-2]), float(row[-1]))


def read_file(path: Path) -> Any:
    """A snapshot or bundle file's JSON; SnapshotError if it cannot be read or is not JSON."""
    try:
        return json.loads(path.read_bytes())
    except OSError as exc:
        raise SnapshotError(f"cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise SnapshotError(f"not JSON: {exc}") from None


def restore(state: MockState, document: Any) -> None:
    """Put the snapshot's state in `state`. Everything is read and checked first: a bad document
    (SnapshotError) or a conflict (SnapshotConflict) leaves the state as it was."""
    check_origin(state, document)
    problem = first_problem(load_validator(SCHEMA), document)
    if problem is not None:
        raise SnapshotError(f"{problem[0]}: {problem[1]}")
    seqs = [int(record["seq"]) for record in document.get("journal") or []]
    if seqs != list(range(seqs[0], seqs[0] + len(seqs)) if seqs else []):
        raise SnapshotError("journal: expected records numbered one after another (seq)")
    scenario = _scenario(state, document["scenario"])
    try:
        clock = document["clock"]
        epoch, frozen = float(clock["epoch"]), bool(clock["frozen"])
        Clock().set(epoch, frozen)  # checked on a throw-away clock first
        dropped = int(document["counters"]["dropped"])
        IdSource(0).move_to(document["ids"])  # checked on a throw-away source first
        SeededRandom(0).move_to(document["dice"])
        counts = [(tuple(key) if isinstance(key, list) else key, int(count))
                  for key, count in document["counters"]["counts"]]
        windows = [((str(key[0]), int(key[1]), int(key[2]), str(key[3])), int(place), float(ends))
                   for key, place, ends in document["counters"].get("windows", [])]
        journal = Journal(state.journal.limit, state.journal.max_bytes, state.journal.header_bytes,
                          state.journal.body_bytes)
        journal.restore(document.get("journal") or [])
        backend = _backend(state, document["backend"])  # last: charged to the memory budget once made
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise SnapshotError(f"snapshot: not a {FORMAT} document ({type(exc).__name__}: {exc})") from None
    with state.lock:
        state.clock.set(epoch, frozen)
        state.ids.move_to(document["ids"])
        state.dice.move_to(document["dice"])
        state.counters.restore(counts, dropped, windows)
        state.scenario = scenario
        state.journal.restore(journal.records())
        replaced, state.backend = state.backend, backend
        replaced.close()  # what the replaced one held is released from the memory budget
