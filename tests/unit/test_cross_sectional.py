"""Cross-sectional detection on generated streams and on the CFPB samples, without I/O: a key
unusual among its siblings now is seen from the first hour; skewed or steady noise is not."""

import random
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.escalation.catalogue.keys import normalised_key
from services.escalation.incidents import cross_section as cross
from services.escalation.incidents import detector as det
from services.escalation.ladder import parse_config
from tests.support.escalation import PRODUCTS, REGIONS, cfpb_background, noise

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "escalation.toml"
START = datetime(2026, 1, 1, tzinfo=UTC)
Stream = list[tuple[datetime, dict[str, str]]]


@pytest.fixture(scope="module")
def config() -> det.DetectorConfig:
    return parse_config(tomllib.loads(SHIPPED.read_text(encoding="utf-8"))).detector


def cut(window: list[dict[str, str]], pattern: str, dims: dict[str, str]) -> cross.Window:
    first, second = det.PATTERNS[pattern]
    a = row = col = rest = 0
    for values in window:
        if not values.get(first) or not values.get(second):
            continue
        same_a, same_b = values[first] == dims[first], values[second] == dims[second]
        a += same_a and same_b
        row += same_a and not same_b
        col += same_b and not same_a
        rest += not same_a and not same_b
    return cross.Window(a, row, col, rest)


def crossings(stream: Stream, config: det.DetectorConfig) -> list[tuple[datetime, str]]:
    """Replay a stream the way the service does: canonical keys, the window, both tests."""
    recent: list[tuple[int, dict[str, str]]] = []
    found = []
    for at, raw in sorted(stream, key=lambda item: item[0]):
        values = {dim: normalised_key(value) for dim, value in raw.items()}
        bucket = config.bucket_of(at)
        recent = [(b, v) for b, v in recent if b > bucket - config.window_buckets]
        recent.append((bucket, values))
        for pattern in config.cross.patterns:
            dims = det.pattern_key(pattern, values)
            if dims is None:
                continue
            window = cut([v for _, v in recent], pattern, dims)
            if cross.crossing(window, config.cross):
                found.append((at, det.key_name(pattern, dims)))
    return found


def ordinary(start: datetime, count: int, minutes: int, seed: int = 5) -> Stream:
    rnd = random.Random(seed)
    step = timedelta(minutes=minutes / count)
    return [
        (
            start + step * i,
            {
                "product": rnd.choice(PRODUCTS),
                "category": "appliances",
                "region": rnd.choice(REGIONS),
            },
        )
        for i in range(count)
    ]


def spike(start: datetime, count: int, spellings: list[tuple[str, str]]) -> Stream:
    step = timedelta(minutes=10 / count)
    return [
        (start + step * i, {"product": p, "category": "appliances", "region": r})
        for i, (p, r) in enumerate(spellings[i % len(spellings)] for i in range(count))
    ]


def test_a_burst_on_a_fresh_system_is_seen_within_its_first_minutes(
    config: det.DetectorConfig,
) -> None:
    stream = ordinary(START, 40, minutes=90) + spike(
        START + timedelta(minutes=95), 30, [("Kettle K1", "CA")]
    )
    found = crossings(stream, config)
    assert found, "the burst was not seen"
    assert {key for _, key in found} == {"product+region:kettlek1|ca"}
    assert found[0][0] < START + timedelta(minutes=105)


def test_a_burst_spelt_many_ways_counts_as_one_key(config: det.DetectorConfig) -> None:
    spellings = [
        ("Kettle K1", "CA"),
        ("kettle k-1", "ca"),
        ("KETTLE  K1", " CA."),
        ("kettle_k1", "Ca"),
    ]
    stream = ordinary(START, 40, minutes=90) + spike(START + timedelta(minutes=95), 30, spellings)
    assert {key for _, key in crossings(stream, config)} == {"product+region:kettlek1|ca"}


def test_a_burst_that_is_the_only_traffic_has_no_peers_to_stand_out_from(
    config: det.DetectorConfig,
) -> None:
    assert crossings(spike(START, 30, [("Kettle K1", "CA")]), config) == []


@pytest.mark.parametrize(
    ("products", "regions", "per_hour"), [(4, 4, 12), (20, 10, 60), (50, 40, 300)]
)
def test_uniform_noise_over_many_keys_crosses_nothing(
    config: det.DetectorConfig, products: int, regions: int, per_hour: int
) -> None:
    rnd = random.Random(products * regions)
    step = timedelta(minutes=60 / per_hour)
    stream = [
        (
            START + step * i,
            {
                "product": f"P{rnd.randrange(products)}",
                "category": f"C{rnd.randrange(5)}",
                "region": f"R{rnd.randrange(regions)}",
            },
        )
        for i in range(per_hour * 24)
    ]
    assert crossings(stream, config) == []


def test_steady_appliance_noise_crosses_nothing(config: det.DetectorConfig) -> None:
    assert crossings(noise(START, hours=48, per_hour=6), config) == []


@pytest.mark.parametrize(("per_hour", "seed"), [(6, 7), (20, 9), (60, 7), (200, 8)])
def test_the_skewed_cfpb_mix_crosses_nothing(
    config: det.DetectorConfig, per_hour: int, seed: int
) -> None:
    stream = cfpb_background(START, per_hour, seed)
    assert crossings(stream, config) == []


def test_the_binomial_tail_is_exact() -> None:
    assert cross.upper_tail(3, 3, 0.5) == pytest.approx(0.125)
    assert cross.upper_tail(2, 4, 0.25) == pytest.approx(1 - 0.75**4 - 4 * 0.25 * 0.75**3)
    assert cross.upper_tail(0, 5, 0.3) == 1.0 and cross.upper_tail(6, 5, 0.3) == 0.0
    assert cross.score(0.5) == 0.0 and cross.score(1e-400) == 37.0


def test_thin_siblings_are_not_mistaken_for_an_extreme() -> None:
    settings = cross.CrossConfig(min_context=1)
    # Ten of eleven in the region against a share of 30 of 110 elsewhere: unusual, not certain.
    thin = cross.crossing(cross.Window(10, 30, 1, 79), settings)
    thick = cross.crossing(cross.Window(100, 300, 10, 790), settings)
    assert thin is None and thick is not None and thick.z > 10


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"min_count": 0}, "min_count"),
        ({"prior_count": -1}, "prior_count"),
        ({"patterns": ["product+category"]}, "patterns"),
        ({"enabled": "yes"}, "enabled"),
        ({"colour": 1}, "unknown keys"),
    ],
)
def test_invalid_cross_sectional_settings_are_refused(
    document: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        det.parse_config({"cross_sectional": document})
