"""The catalogue: products, categories and regions under canonical ids with their aliases, a
region's neighbours and parent. Read from a validated file at start (config/catalogue.toml);
aliases an admin adds are kept in the database (see catalogue_store). Pure: no I/O here
besides reading the file."""

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from services.escalation.catalogue.keys import normalised_key

Dimension = Literal["product", "category", "region"]
DIMENSIONS: tuple[Dimension, ...] = ("product", "category", "region")
Text = Field(min_length=1, max_length=255)


class InvalidCatalogue(ValueError):
    pass


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Text
    name: str | None = Field(default=None, min_length=1, max_length=255)
    aliases: tuple[str, ...] = ()

    def spellings(self) -> Iterable[str]:
        yield self.id
        if self.name:
            yield self.name
        yield from self.aliases


class Product(Entry):
    category: str | None = Field(default=None, min_length=1, max_length=255)


class Category(Entry):
    pass


class Region(Entry):
    parent: str | None = Field(default=None, min_length=1, max_length=255)
    neighbours: tuple[str, ...] = ()


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    product: tuple[Product, ...] = ()
    category: tuple[Category, ...] = ()
    region: tuple[Region, ...] = ()
    _keys: dict[tuple[str, str], str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> "Catalogue":
        for dimension in DIMENSIONS:
            keys: dict[str, str] = {}
            for entry in self.entries(dimension):
                for spelling in entry.spellings():
                    key = normalised_key(spelling)
                    if keys.setdefault(key, entry.id) != entry.id:
                        raise ValueError(
                            f"{dimension} {spelling!r} is both {keys[key]!r} and {entry.id!r}"
                        )
                    self._keys[(dimension, key)] = entry.id
            ids = [e.id for e in self.entries(dimension)]
            if len(set(ids)) != len(ids):
                raise ValueError(f"{dimension} ids must be unique")
        regions = {r.id for r in self.region}
        categories = {c.id for c in self.category}
        for region in self.region:
            unknown = [
                n for n in (*region.neighbours, region.parent or region.id) if n not in regions
            ]
            if unknown:
                raise ValueError(f"region {region.id!r} names unknown regions {unknown}")
        for product in self.product:
            if product.category and product.category not in categories:
                raise ValueError(
                    f"product {product.id!r} has unknown category {product.category!r}"
                )
        return self

    def entries(self, dimension: str) -> tuple[Entry, ...]:
        found: tuple[Entry, ...] = getattr(self, dimension)
        return found

    def find(self, dimension: str, entry_id: str) -> Entry | None:
        return next((e for e in self.entries(dimension) if e.id == entry_id), None)

    def resolve(self, dimension: str, key: str) -> str | None:
        """The canonical id a normalised key stands for in the file, if any."""
        return self._keys.get((dimension, key))

    def neighbours(self, region_id: str) -> tuple[str, ...]:
        """The regions worth naming beside this one: its neighbours, then its parent."""
        region = self.find("region", region_id)
        if not isinstance(region, Region):
            return ()
        return region.neighbours + ((region.parent,) if region.parent else ())


def load(path: Path) -> Catalogue:
    """Read and validate the catalogue; InvalidCatalogue says what is wrong and where."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        return Catalogue.model_validate(document)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidCatalogue(f"catalogue {path}: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'catalogue'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidCatalogue(f"catalogue {path}: {problems}") from exc
