"""The one seeded random source: the draws of random.Random for its seed, again after reset, shared by ids and dice."""
from __future__ import annotations

import re
import uuid

from mock_api.config import MockConfig
from mock_api.service.dataset import Dataset
from mock_api.service.ids import IdSource, object_id_seconds, uuid4_text
from mock_api.service.randomness import SeededRandom
from mock_api.state import MockState


def draws(source: SeededRandom) -> list[object]:
    return [source.random(), source.uniform(1, 5), source.choice([500, 502, 503]), source.getrandbits(40)]


def test_same_draws_as_before_the_merge_and_again_after_reset() -> None:
    source = SeededRandom(7)
    first = draws(source)
    # Pinned: the values random.Random(7) gave Dice and IdSource before they shared this class.
    assert first == [0.32383276483316237, 1.6033966956980077, 503, 77516799952]
    source.reset()
    assert draws(source) == first


def test_ids_keep_their_seeded_sequence() -> None:
    ids = IdSource(20241120)
    # The values of the earlier IdSource with its own random.Random: seeded outputs must not change.
    assert ids.request_id() == "fe6a30e9-b650-4392-93fd-86b310b12411"
    assert ids.object_id(1700000000) == "6553f10050631dbf93000001"
    assert ids.request_id() == "d23918ed-756c-4122-bb33-b279650a7c07"
    ids.reset()
    assert ids.request_id() == "fe6a30e9-b650-4392-93fd-86b310b12411"
    assert ids.object_id(1700000000) == "6553f10050631dbf93000001"


def test_object_ids_are_real_object_ids() -> None:
    ids = IdSource(3)
    for epoch in (0, 1700000000, 4102444800):
        text = ids.object_id(epoch)
        assert re.fullmatch(r"[0-9a-f]{24}", text)  # an ObjectId's text: 12 bytes, lower-case hex
        assert int(text[:8], 16) == object_id_seconds(text) == epoch  # its first 4 bytes: the clock's second


def test_state_dice_is_the_shared_class(dataset: Dataset) -> None:
    state = MockState(MockConfig(), dataset=dataset)
    assert type(state.dice) is SeededRandom


def test_request_ids_are_the_text_of_version_4_uuids() -> None:
    source = SeededRandom(11)
    for bits in [0, 2**128 - 1, *(source.getrandbits(128) for _ in range(2000))]:
        assert uuid4_text(bits) == str(uuid.UUID(int=bits, version=4))
