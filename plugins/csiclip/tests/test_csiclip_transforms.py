"""The paper's preprocessing: (real, imag) image, min-max with dataset statistics, then
standardisation, then the input size; checked against numpy."""

import json

import numpy as np
import pytest
import torch

from zoo_csiclip.errors import TransformInputError
from zoo_csiclip.transforms import ComplexImage


def _csi(n=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.complex(torch.randn(n, 2, 4, 16, 3, generator=g), torch.randn(n, 2, 4, 16, 3, generator=g)) * 1e-3


def test_fit_and_forward_match_numpy():
    x = _csi()
    t = ComplexImage.fit(x, size=[8, 16])
    h = x.numpy()[..., 0].reshape(5, 8, 16)
    img = np.stack([h.real, h.imag], 1).astype(np.float64)
    lo, hi = img.min(axis=(0, 2, 3)), img.max(axis=(0, 2, 3))
    scaled = (img - lo[None, :, None, None]) / (hi - lo)[None, :, None, None]
    mean, std = scaled.mean(axis=(0, 2, 3)), scaled.std(axis=(0, 2, 3))
    np.testing.assert_allclose(t.config["min"], lo, rtol=1e-6)
    np.testing.assert_allclose(t.config["max"], hi, rtol=1e-6)
    np.testing.assert_allclose(t.config["mean"], mean, rtol=1e-6)
    np.testing.assert_allclose(t.config["std"], std, rtol=1e-5)
    out = t(x).numpy()
    np.testing.assert_allclose(out, (scaled - mean[None, :, None, None]) / std[None, :, None, None], atol=1e-5)
    assert out.mean(axis=(0, 2, 3)) == pytest.approx([0, 0], abs=1e-5)
    # the statistics travel as JSON and rebuild the same transform
    again = ComplexImage.from_config(json.loads(json.dumps(t.config)))
    assert torch.equal(again(x), t(x))


def test_layouts_and_resize():
    x = _csi()
    t = ComplexImage.fit(x, size=[32, 32])
    assert t(x).shape == (5, 2, 32, 32)
    cir = torch.fft.ifft(x[..., 0], dim=-1)  # (B, rx, tx, tap)
    assert t(cir).shape == (5, 2, 32, 32)
    image = torch.stack([x[..., 0].real, x[..., 0].imag], 1).reshape(5, 2, 8, 16)
    assert torch.equal(t(image), t(x))  # a real (B, 2, H, W) image is taken as (real, imag)
    assert "resampled 8x16 -> 32x32" in t.keeps((2, 4, 16, 3))


def test_sample_minmax_ignores_scale():
    x = _csi()
    t = ComplexImage.fit(x, size=[8, 16], minmax="sample")
    assert torch.allclose(t(x * 1e6), t(x), atol=1e-4)
    assert t.scaled(x).min() >= 0 and t.scaled(x).max() <= 1


@pytest.mark.parametrize("bad", [torch.randn(2, 8, 16), torch.randn(2, 3, 8, 16), np.zeros((2, 1, 4, 16, 1)),
                                 torch.zeros(2, 16, dtype=torch.complex64)])
def test_bad_input_is_one_typed_line(bad):
    t = ComplexImage(size=[8, 16])
    with pytest.raises(TransformInputError) as err:
        t(bad)
    assert "\n" not in str(err.value)


def test_bad_statistics_refused():
    from zoo_core.errors import WzooError

    with pytest.raises(ValueError):
        ComplexImage(min=[0, 0], max=[0, 1])
    with pytest.raises(ValueError):
        ComplexImage(std=[0, 1])
    with pytest.raises(TransformInputError):
        ComplexImage.fit(torch.zeros(0, 1, 4, 16, 1, dtype=torch.complex64))
    assert issubclass(TransformInputError, WzooError)
