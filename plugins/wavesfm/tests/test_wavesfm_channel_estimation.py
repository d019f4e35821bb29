"""Channel estimation: the head's output layout, the LS input, and a tiny run that learns.

The learning test would have caught the original bug: with the raw (reference, received)
pilots bicubic-resized into the image and the head's 32 x 32 output resized to the channel
grid, the model regressed to ~0 (NMSE ≈ 0 dB), far above LS."""

import pytest
import torch

import zoo_core
from zoo_core.data import baselines
from zoo_core.data.generators import ofdm
from zoo_core.data.metrics import nmse_db
from zoo_wavesfm.finetune import prepare
from zoo_wavesfm.heads import ViTBlockHead
from zoo_wavesfm.losses import snr_weighted_mse
from zoo_wavesfm.plugin import task_heads
from zoo_wavesfm.recipes import OFDM_GRID, _threads, ofdm_inputs
from zoo_wavesfm.transforms import PilotGrid

TINY_NAME = "wavesfm/vit-tiny-p8-32"


def test_head_tiles_map_one_token_to_one_block_of_the_channel_grid():
    head = ViTBlockHead(in_features=64, grid_size=(4, 4), patch_size=8, out_chans=2, num_heads=4,
                        out_size=(30, 14))
    assert head.tile == (8, 4)  # ceil(30 / 4), ceil(14 / 4)
    head.block, head.norm = torch.nn.Identity(), torch.nn.Identity()
    with torch.no_grad():
        head.proj.weight.copy_(torch.eye(64))
        head.proj.bias.zero_()
    tokens = torch.randn(3, 17, 64)
    out = head(tokens)
    assert out.shape == (3, 2, 30, 14)
    for i, j, r, q, c in [(0, 0, 0, 0, 0), (1, 2, 3, 1, 1), (3, 3, 5, 1, 0), (2, 1, 7, 3, 1)]:
        # token 1 + 4i + j holds tile (i, j); its values are ordered (row, col, channel)
        assert out[:, c, 8 * i + r, 4 * j + q].tolist() == tokens[:, 1 + 4 * i + j, (r * 4 + q) * 2 + c].tolist()


def test_head_without_out_size_keeps_the_image_grid():
    head = ViTBlockHead(in_features=32, grid_size=(4, 4), patch_size=8, out_chans=2, num_heads=4)
    assert head(torch.randn(2, 17, 32)).shape == (2, 2, 32, 32)


def test_ls_pilot_input_is_the_derotated_received_pilot():
    data = ofdm.generate(8, seed=1, **OFDM_GRID)
    x, _ = ofdm_inputs(data)
    real = PilotGrid.as_real(x, ls=True)
    ls = torch.from_numpy(baselines.ls_ofdm_pilots(data)).reshape(8, 32, -1)
    assert torch.allclose(torch.complex(real[:, 0], real[:, 1]), ls, atol=1e-5)
    assert torch.equal(torch.complex(real[:, 2], real[:, 3]), x[:, 0])  # the reference, unchanged
    t = PilotGrid.fit(x, size=32, ls=True)
    assert t.config["ls"] and PilotGrid.from_config(t.config)(x).shape == (8, 4, 32, 32)
    assert not PilotGrid.fit(x, size=32).config["ls"]  # the paper's raw pair stays the default


def test_tiny_channel_estimation_fine_tuning_beats_ls():
    """36 steps of a 2-block model at 5-15 dB: NMSE well below LS, loss down by 20x."""
    n_train, n_test = 384, 256
    data = ofdm.generate(n_train + n_test, seed=3, snr_db=(5.0, 15.0), **OFDM_GRID)
    x, h = ofdm_inputs(data)
    snr = torch.from_numpy(data.extras["snr_db"])
    head = task_heads("tiny")["channel-estimation"]
    torch.manual_seed(0)
    model = zoo_core.create_model(TINY_NAME, depth=2, heads={
        "channel-estimation": {"name": head["name"], "args": {**head["args"], "out_size": list(h.shape[-2:])}}})
    model.set_transform(PilotGrid.fit(x[:n_train], size=32, ls=True), "wavesfm/pilots")
    prepare(model, "channel-estimation", "full")
    opt = torch.optim.AdamW(model.trainable_parameters(), lr=3e-3, weight_decay=0.0)
    gen, losses = torch.Generator().manual_seed(0), []
    with _threads(1):
        for _ in range(6):
            for idx in torch.randperm(n_train, generator=gen).split(64):
                loss = snr_weighted_mse(model(x[idx], task="channel-estimation"), h[idx], snr[idx], normalize=True)
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            pred = model(x[n_train:], task="channel-estimation")
    got = nmse_db(pred.numpy(), h[n_train:].numpy()).mean_db
    ls = baselines.ls(data)[n_train:, :, 0].reshape(n_test, *h.shape[-2:])
    ls_db = nmse_db(ls, torch.complex(h[n_train:, 0], h[n_train:, 1]).numpy()).mean_db
    assert ls_db == pytest.approx(-7.5, abs=1.0)
    assert got < ls_db - 3.0, (got, ls_db)
    assert sum(losses[-6:]) / 6 < losses[0] / 20, (losses[0], losses[-6:])
