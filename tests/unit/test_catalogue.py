"""The catalogue file: validated at start, every spelling of an entry resolves to its id."""

from pathlib import Path

import pytest

from services.escalation.catalogue import entries as catalogue_entries
from services.escalation.catalogue.keys import normalised_key

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "catalogue.toml"


@pytest.fixture(scope="module")
def shipped() -> catalogue_entries.Catalogue:
    return catalogue_entries.load(SHIPPED)


@pytest.mark.parametrize(
    ("dimension", "written", "canonical"),
    [
        ("region", "CA", "CA"),
        ("region", "California", "CA"),
        ("region", " california. ", "CA"),
        ("region", "Greater London", "UKI"),
        ("region", "广东省", "CN-GD"),
        ("region", "Guangdong", "CN-GD"),
        ("region", "\uff23\uff21", "CA"),  # full-width "CA"
        ("product", "kettle k-1", "Kettle K1"),
        ("category", "Home Appliances", "appliances"),
    ],
)
def test_every_spelling_resolves_to_the_canonical_id(
    shipped: catalogue_entries.Catalogue, dimension: str, written: str, canonical: str
) -> None:
    assert shipped.resolve(dimension, normalised_key(written)) == canonical


def test_unknown_values_are_not_guessed(shipped: catalogue_entries.Catalogue) -> None:
    assert shipped.resolve("region", normalised_key("Atlantis")) is None
    assert shipped.resolve("product", normalised_key("California")) is None


def test_shipped_regions_have_symmetric_neighbours_and_a_parent(
    shipped: catalogue_entries.Catalogue,
) -> None:
    regions = {r.id: r for r in shipped.region}
    for region in regions.values():
        for other in region.neighbours:
            assert region.id in regions[other].neighbours, (region.id, other)
    assert shipped.neighbours("CA") == ("AZ", "NV", "OR", "US")
    assert "CN-GX" in shipped.neighbours("CN-GD") and "UKJ" in shipped.neighbours("UKI")
    countries = {"US", "GB", "CN"}
    assert all(r.parent in countries for r in regions.values() if r.id not in countries)
    assert len([r for r in regions.values() if r.parent == "US"]) >= 51


def test_normalised_keys_ignore_case_spacing_punctuation_and_width() -> None:
    assert (
        len(
            {
                normalised_key(s)
                for s in [
                    "Kettle K1",
                    "kettle k-1",
                    "KETTLE  K1",
                    "\uff4b\uff45\uff54\uff54\uff4c\uff45_K1",
                ]
            }
        )
        == 1
    )
    assert normalised_key("Kettle K1") != normalised_key("Kettle K11")
    assert normalised_key("---") == "---"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[region]]\nid = "CA"\nneighbours = ["OR"]\n', "unknown regions"),
        ('[[region]]\nid = "CA"\n[[region]]\nid = "Calif"\naliases = ["ca"]\n', "is both"),
        ('[[product]]\nid = "K1"\ncategory = "nope"\n', "unknown category"),
        ('[[product]]\nid = ""\n', "product.0.id"),
        ('[[colour]]\nid = "red"\n', "colour"),
        ("[[region]\n", "TOML|Expected|expected"),
    ],
)
def test_an_invalid_catalogue_is_refused_with_the_reason(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "catalogue.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(catalogue_entries.InvalidCatalogue, match=message):
        catalogue_entries.load(path)
