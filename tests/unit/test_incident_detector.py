"""The streaming detector on generated streams and on the CFPB samples, without I/O."""

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.escalation.incidents import detector as det
from services.escalation.incidents.specification import Sibling, specify
from services.escalation.ladder import parse_config
from tests.support.escalation import burst, cfpb_background, noise

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "escalation.toml"
START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def config() -> det.DetectorConfig:
    return parse_config(tomllib.loads(SHIPPED.read_text(encoding="utf-8"))).detector


def crossings(
    stream: list[tuple[datetime, dict[str, str]]], config: det.DetectorConfig
) -> list[tuple[datetime, str]]:
    """Replay a stream through the detector's rules, the way the service keeps its state."""
    states: dict[str, det.KeyState] = {}
    started: int | None = None
    found = []
    for at, values in sorted(stream, key=lambda item: item[0]):
        bucket = config.bucket_of(at)
        started = bucket if started is None else started
        for pattern in config.patterns:
            dims = det.pattern_key(pattern, values)
            if dims is None:
                continue
            key = det.key_name(pattern, dims)
            state = states.get(key) or det.fresh(bucket, started, config)
            states[key] = det.observe(state, bucket, config)
            if det.crossing(states[key], config):
                found.append((at, key))
    return found


def test_steady_background_noise_crosses_nothing(config: det.DetectorConfig) -> None:
    assert crossings(noise(START, hours=120, per_hour=4), config) == []


def test_a_burst_in_one_product_and_region_crosses_that_pattern(
    config: det.DetectorConfig,
) -> None:
    stream = noise(START, hours=72, per_hour=3) + burst(START + timedelta(hours=72), 12)
    found = crossings(stream, config)
    assert found, "the burst was not seen"
    first_at, first_key = found[0]
    assert first_key == "product+region:kettle k2|ca"
    assert START + timedelta(hours=72) < first_at <= START + timedelta(hours=74)


@pytest.mark.parametrize(("per_hour", "seed"), [(2, 7), (6, 7), (6, 8), (20, 9), (60, 7)])
def test_the_cfpb_samples_replayed_as_background_raise_no_incident(
    config: det.DetectorConfig, per_hour: int, seed: int
) -> None:
    stream = cfpb_background(START, per_hour, seed)
    assert len(stream) > 3000
    assert crossings(stream, config) == []


def test_nothing_is_raised_before_the_baseline_is_learned(config: det.DetectorConfig) -> None:
    assert crossings(burst(START, 30, minutes_apart=2), config) == []


def test_state_per_key_stays_the_same_size_however_long_the_history(
    config: det.DetectorConfig,
) -> None:
    state = det.fresh(0, 0, config)
    for bucket in range(0, 20_000, 3):
        state = det.observe(state, bucket, config)
    assert len(state.counts) == config.window_buckets
    assert state.mean == pytest.approx(1 / 3, rel=0.2)
    # A long silence folds in a bounded number of empty buckets, not one per hour of silence.
    later = det.advance(state, state.bucket + 10**9, config)
    assert later.folded - state.folded <= det.MAX_FOLD + config.window_buckets
    assert later.recent == 0


def test_late_complaints_count_in_their_own_bucket_or_not_at_all(
    config: det.DetectorConfig,
) -> None:
    state = det.observe(det.fresh(100, 0, config), 100, config)
    state = det.observe(state, 98, config)
    assert state.counts[-1] == 1 and state.counts[-3] == 1
    assert det.observe(state, 100 - config.window_buckets, config).recent == 2


def test_the_specification_says_what_it_is_and_what_it_is_not(
    config: det.DetectorConfig,
) -> None:
    at = START + timedelta(hours=5)
    members = [
        {"complaint_id": f"c{i}", "received_at": at + timedelta(minutes=i), "category": "x"}
        for i in range(9)
    ]
    crossing = det.Crossing(recent=9, expected=0.6, ratio=15.0, z=7.2)
    siblings = {
        "product": [Sibling("Kettle K1", 1), Sibling("Toaster T1", 8, crossing=True)],
        "region": [Sibling("OR", 0), Sibling("NV", 1)],
    }
    dims = {"product": "Kettle K2", "region": "CA"}
    is_, is_not, distinctions = specify(dims, members, crossing, 0.1, siblings, config)
    assert is_["what"] == {"product": "Kettle K2", "categories_seen": {"x": 9}}
    assert is_["where"] == {"region": "CA"}
    assert is_["extent"]["complaints"] == 9
    assert is_["when"]["first"] == at.isoformat()
    # A sister product just as affected is not a distinction: it is left out of IS NOT.
    assert is_not["what"] == {"other_products": {"Kettle K1": 1}}
    assert is_not["where"] == {"other_regions": {"OR": 0, "NV": 1}}
    assert is_not["when"]["baseline_per_hour"] == 0.1
    assert distinctions[:2] == [
        "only product Kettle K2, not Kettle K1",
        "only region CA, not OR, NV",
    ]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"min_count": 0}, "min_count"),
        ({"alpha": 1.5}, "alpha"),
        ({"patterns": ["colour+size"]}, "patterns"),
        ({"colour": 1}, "unknown keys"),
    ],
)
def test_invalid_detector_settings_are_refused(document: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        det.parse_config(document)
