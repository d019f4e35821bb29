"""Every card in model_cards/<plugin>/<model>.md parses, carries wzoo's required metadata and
belongs to a model its plugin registers."""

from pathlib import Path

import pytest

from zoo_core.card import validate_card
from zoo_core.plugins import registry, state

ROOT = Path(__file__).parents[1] / "model_cards"
CARDS = sorted(ROOT.glob("*/*.md"))


def test_model_cards_has_one_folder_per_plugin_and_nothing_else():
    assert CARDS, "model_cards/ holds no cards"
    stray = [p.name for p in ROOT.iterdir() if p.name != "README.md" and not p.is_dir()]
    assert not stray, f"model_cards/ keeps cards in <plugin>/<model>.md folders, not at the top: {stray}"
    for folder in (p for p in ROOT.iterdir() if p.is_dir()):
        other = [p.name for p in folder.iterdir() if p.suffix != ".md" or not p.is_file()]
        assert not other, f"model_cards/{folder.name}/ holds only <model>.md cards, not {other}"


@pytest.mark.parametrize("card", CARDS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_card_is_valid(card):
    meta = validate_card(card)
    assert meta["library_name"] == "wzoo"
    body = card.read_text().split("---", 2)[2]
    for section in ("## Architecture", "## How to load", "## Limits"):
        assert section in body, f"{card.name} lacks {section}"


@pytest.mark.parametrize("card", CARDS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_card_names_a_model_its_plugin_registers(card):
    plugin, name = card.parent.name, f"{card.parent.name}/{card.stem}"
    info = state().plugins.get(plugin)
    assert info is not None, f"model_cards/{plugin}/ is not named after an installed plugin"
    assert info.status == "loaded", f"plugin {plugin!r} did not load: {info.error}"
    assert ("model", name) in registry(), f"{card.relative_to(ROOT)}: plugin {plugin!r} registers no model {name!r}"
    assert registry().get("model", name).plugin == plugin
    assert validate_card(card).get("model_name", name) == name, f"{card.relative_to(ROOT)} names another model"
