"""Every card in model_cards/ parses and carries wzoo's required metadata."""

from pathlib import Path

import pytest

from zoo_core.card import validate_card

CARDS = sorted((Path(__file__).parents[1] / "model_cards").glob("*.md"))


@pytest.mark.parametrize("card", [c for c in CARDS if c.name != "README.md"], ids=lambda p: p.name)
def test_card_is_valid(card):
    meta = validate_card(card)
    assert meta["library_name"] == "wzoo"
    body = card.read_text().split("---", 2)[2]
    for section in ("## Architecture", "## How to load", "## Limits"):
        assert section in body, f"{card.name} lacks {section}"
