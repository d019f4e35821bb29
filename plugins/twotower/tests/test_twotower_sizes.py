"""The paper-size model by parameter counts on the meta device (never trained here)."""

import pytest

from zoo_twotower.model import create
from zoo_twotower.towers import count_parameters

CHANNEL_PATH, ENVIRONMENT_PATH, PAPER_TOTAL = 7_117_312, 7_518_720, 19.1e6  # Table III, Sec. IV-B


def test_paper_size_paths_match_table_iii_exactly():
    model = create("paper", "crnn-msnn", device="meta")
    assert count_parameters(model.encoders["csi"].backbone) == CHANNEL_PATH
    assert count_parameters(model.encoders["env"].backbone) == ENVIRONMENT_PATH
    total = count_parameters(model)  # the MSNN counted once
    assert abs(total - PAPER_TOTAL) / PAPER_TOTAL < 0.03
    assert total == 18_904_609


def test_msnn_is_shared_only_in_its_variant():
    shared = create("paper", "crnn-msnn", device="meta")
    assert shared.encoders["env"].backbone.msnn is shared.encoders["csi"].backbone.msnn
    separate = create("paper", "crnn", device="meta")
    assert separate.encoders["env"].backbone.msnn is not separate.encoders["csi"].backbone.msnn
    msnn = count_parameters(shared.encoders["csi"].backbone.msnn)
    assert count_parameters(separate) == count_parameters(shared) + msnn
    plain = create("paper", "two-tower", device="meta")
    assert "csi-feedback" not in plain.heads
    assert count_parameters(plain) == count_parameters(separate) - count_parameters(separate.heads["csi-feedback"])


def test_toft_heads_have_the_papers_sizes():
    from zoo_twotower.strategies import toft_head

    assert count_parameters(toft_head("los", 128, 2, 64)) == 258          # 128*2 + 2
    assert count_parameters(toft_head("beam", 128, 32, 64)) == 10_336     # 128 -> 64 -> 32


def test_unknown_variant_is_one_typed_line():
    from zoo_twotower.errors import TwotowerError

    with pytest.raises(TwotowerError, match="variant must be one of"):
        create("tiny", "three-tower")
