"""What a user without a model can install: the first-run offer, Qt-free.

A fresh app has no model. Rather than fail, it offers the models it can install: first those
shipped with it (``bundled``: converted from a checkpoint on this computer, no network), then
the hub catalogue (``download``). A name that is both bundled and downloadable is offered once,
as bundled. The UI lists ``first_run_offers()`` when it starts and installs the user's choice
with ``install_offer`` on its worker thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from stenogram.core import model_hub
from stenogram.core.models import ModelInfo, ModelStore

BUNDLED = "bundled"
DOWNLOAD = "download"
RECOMMENDED = "tiny.en"  # small and quick: the right first model; the default of TranscribeOptions


@dataclass(frozen=True)
class ModelOffer:
    """One model that can be installed, and how."""

    name: str
    kind: str  # BUNDLED (on this computer) or DOWNLOAD (from the Hugging Face hub)
    approx_mb: int
    english_only: bool
    recommended: bool = False

    @property
    def needs_network(self) -> bool:
        return self.kind == DOWNLOAD

    @property
    def label(self) -> str:
        """A line for a list: "tiny.en — English, 75 MB, included with Stenogram"."""
        languages = "English" if self.english_only else "many languages"
        where = "included with Stenogram" if self.kind == BUNDLED else "download"
        return f"{self.name} — {languages}, {self.approx_mb} MB, {where}"


def model_offers(store: ModelStore | None = None) -> list[ModelOffer]:
    """Every model that is not installed yet: bundled ones first, then the catalogue."""
    store = store or ModelStore()
    installed = {m.name for m in store.list_installed()}
    catalogue = {e.name: e for e in model_hub.CATALOGUE}
    offers: list[ModelOffer] = []
    for b in store.bundled_available():
        if b.name in installed:
            continue
        entry = catalogue.get(b.name)
        approx_mb = round(b.size_bytes / 1e6)
        english_only = entry.english_only if entry else b.name.endswith(".en")
        offers.append(ModelOffer(b.name, BUNDLED, approx_mb, english_only, b.name == RECOMMENDED))
    offered = {o.name for o in offers}
    has_recommended = RECOMMENDED in offered
    for e in model_hub.CATALOGUE:
        if e.name in installed or e.name in offered:
            continue
        recommended = e.name == RECOMMENDED and not has_recommended
        offers.append(ModelOffer(e.name, DOWNLOAD, e.approx_mb, e.english_only, recommended))
    return offers


def first_run_offers(store: ModelStore | None = None) -> list[ModelOffer]:
    """The offers to show when no model is installed at all; empty once one is."""
    store = store or ModelStore()
    return [] if store.list_installed() else model_offers(store)


def install_offer(
    offer: ModelOffer,
    store: ModelStore | None = None,
    progress: model_hub.Progress | None = None,
    cancel: threading.Event | None = None,
) -> ModelInfo:
    """Install one offer (blocking: call it from a worker thread). Raises ModelError subclasses."""
    store = store or ModelStore()
    if offer.kind == BUNDLED:
        return store.install_bundled(offer.name)
    return store.download(offer.name, progress, cancel)
