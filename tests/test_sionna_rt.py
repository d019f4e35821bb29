"""The Sionna RT generator (`wzoo[sionna-rt]`) checked against Sionna RT's own output.

Each check solves the same scene again with Sionna's public API (scene, arrays, transmitter and
receivers built here, not by the generator) and compares: CSI with `Paths.cfr`, LOS with "a valid
path with no interaction", the beam with an argmax of codebook power computed here, the map with
the roofs of the scene's meshes, and a resumed run with an uninterrupted one. Skipped without the
extra, except the "not installed" error test.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from zoo_core.data.errors import GeneratorParameterError, OptionalDependencyError
from zoo_core.data.generators import sionna_rt

SMALL = dict(scene="simple_street_canyon", bs_rows=1, bs_cols=4, n_sc=8, n_taps=8, max_depth=2,
             samples_per_src=20_000, batch_size=4, map_px=64)
N = 10


def test_missing_extra_is_a_typed_one_line_error(monkeypatch):
    for name in [m for m in sys.modules if m.split(".")[0] in ("sionna", "mitsuba", "drjit")] + ["sionna"]:
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules -> ImportError
    with pytest.raises(OptionalDependencyError) as err:
        sionna_rt.generate(2, scene="simple_street_canyon")
    msg = str(err.value)
    assert "\n" not in msg and isinstance(err.value, ImportError)
    for part in ("pip install 'wzoo[sionna-rt]'", "apt-get install -y libllvm19", "DRJIT_LIBLLVM_PATH=libLLVM.so.19.1"):
        assert part in msg


def test_every_keyword_parameter_is_annotated_for_the_validator():
    import inspect

    from zoo_core.validation import type_hints, validate_value

    hints = type_hints(sionna_rt.generate)
    params = [p for p in inspect.signature(sionna_rt.generate).parameters.values() if p.kind is p.KEYWORD_ONLY]
    assert params and all(p.name in hints for p in params)
    for p in params:  # every default passes its own annotation
        validate_value(p.default, hints[p.name], "sionna-rt", p.name)


@pytest.fixture(scope="module")
def rt():
    pytest.importorskip("sionna.rt")
    return sionna_rt.import_sionna_rt()[0]


@pytest.fixture(scope="module")
def data(rt, tmp_path_factory):
    return sionna_rt.generate(N, seed=3, checkpoint_dir=str(tmp_path_factory.mktemp("ck")), **SMALL)


@pytest.fixture(scope="module")
def reference(rt, data):
    """Sionna's own solve of the same BS and UEs, built here with Sionna's public API."""
    import mitsuba as mi

    p = data.meta["params"]
    scene = rt.load_scene(rt.scene.simple_street_canyon)
    scene.frequency = p["carrier_hz"]
    scene.tx_array = rt.PlanarArray(num_rows=p["bs_rows"], num_cols=p["bs_cols"], vertical_spacing=0.5,
                                    horizontal_spacing=0.5, pattern="iso", polarization="V")
    scene.rx_array = rt.PlanarArray(num_rows=1, num_cols=1, pattern="iso", polarization="V")
    origin = data.shared["origin_m"]
    scene.add(rt.Transmitter(name="tx", position=mi.Point3f(*map(float, data.bs_pos[0] + origin))))
    for i, xyz in enumerate(data.ue_pos.astype(np.float64) + origin):
        scene.add(rt.Receiver(name=f"rx{i}", position=mi.Point3f(*map(float, xyz))))
    paths = rt.PathSolver(deterministic=True)(
        scene, max_depth=p["max_depth"], samples_per_src=p["samples_per_src"],
        max_num_paths_per_src=10_000_000, seed=data.meta["solver_seed"])
    cfr = paths.cfr(frequencies=data.shared["subcarrier_offsets_hz"], normalize_delays=False, out_type="numpy")
    valid = paths.valid.numpy().reshape(N, -1)
    inter = paths.interactions.numpy().reshape(p["max_depth"], N, -1)
    los = (valid & (inter == 0).all(axis=0)).any(axis=1)
    return dict(cfr=np.asarray(cfr).reshape(N, p["bs_cols"], p["n_sc"]), los=los, scene=scene)


def test_shapes_and_labels(data):
    assert data.csi.shape == (N, 1, 4, 8, 1) and data.cir.shape == (N, 1, 4, 8)
    assert data.env_map.shape == (1, 64, 64) and data.meta["generator"] == "sionna-rt"
    assert (data.extras["n_paths"] > 0).all()  # outage replaced in the random layout
    assert (data.extras["path_mask"].sum(axis=1) == data.extras["n_paths"]).all()


def test_csi_equals_sionna_cfr(data, reference):
    h = data.csi[:, 0, :, :, 0]
    ref = reference["cfr"]
    err = np.linalg.norm((h - ref).reshape(N, -1), axis=1) / np.linalg.norm(ref.reshape(N, -1), axis=1)
    print(f"CFR max relative error vs Sionna paths.cfr: {err.max():.3e} over {N} UEs")
    assert err.max() < 1e-5


def test_los_is_a_path_without_interaction(data, reference):
    print(f"LOS agreement: {np.mean(data.los == reference['los']):.3f} ({int(data.los.sum())} LOS of {N})")
    np.testing.assert_array_equal(data.los, reference["los"])


def test_beam_is_the_argmax_of_codebook_power(data):
    w = data.shared["codebook"].astype(np.complex128)                       # (B, M)
    h = data.csi[:, 0, :, :, 0].astype(np.complex128)                        # (N, M, K)
    power = (np.abs(np.einsum("bm,nmk->nbk", w.conj(), h)) ** 2).sum(axis=-1)
    print(f"beam agreement: {np.mean(np.argmax(power, axis=1) == data.labels['beam']):.3f}")
    np.testing.assert_array_equal(np.argmax(power, axis=1), data.labels["beam"])
    # the codebook is the array response of Sionna's element positions (ULA along y)
    m = np.arange(4)
    u = w.shape[0]
    assert u == 4 and np.allclose(np.abs(w), 0.5)
    np.testing.assert_allclose(w[:, 1:] / w[:, :-1], np.exp(1j * np.pi * (-1 + 2 * m / 4))[:, None] * np.ones((1, 3)),
                               atol=1e-5)


def test_map_has_buildings_under_the_roofs(data, reference):
    scene = reference["scene"]
    origin, s = data.shared["origin_m"], float(data.map_scale[0])
    hits = []
    for obj in scene.objects.values():
        v = obj.mi_mesh.vertex_positions_buffer().numpy().reshape(-1, 3)
        f = obj.mi_mesh.faces_buffer().numpy().reshape(-1, 3)
        tri = v[f]
        roof = (tri[:, :, 2].min(axis=1) > 5.0) & (np.ptp(tri[:, :, 2], axis=1) < 0.1)   # flat and high
        for c in tri[roof].mean(axis=1):
            j, i = int((c[0] - origin[0]) // s), int((c[1] - origin[1]) // s)
            hits.append(data.env_map[0, i, j])
    assert len(hits) >= 4 and all(hits)
    ue = data.ue_pos[:, :2] // s
    assert not data.env_map[0, ue[:, 1].astype(int), ue[:, 0].astype(int)].any()  # UEs stand outside
    assert 0.1 < data.env_map.mean() < 0.9 and data.env_edges.sum() > 0


def test_resume_after_an_interrupted_batch_is_identical(rt, data, tmp_path, monkeypatch):
    solve = sionna_rt._solve_batch
    calls = []

    def interrupted(tracer, ue):
        if len(calls) == 1:
            raise KeyboardInterrupt
        calls.append(1)
        return solve(tracer, ue)

    monkeypatch.setattr(sionna_rt, "_solve_batch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sionna_rt.generate(N, seed=3, checkpoint_dir=str(tmp_path), **SMALL)
    saved = sorted(tmp_path.rglob("batch_*.npz"))
    assert len(saved) == 1 and not list(tmp_path.rglob("*wzoo-tmp*"))

    counted = []
    monkeypatch.setattr(sionna_rt, "_solve_batch", lambda tracer, ue: counted.append(1) or solve(tracer, ue))
    resumed = sionna_rt.generate(N, seed=3, checkpoint_dir=str(tmp_path), **SMALL)
    n_batches = len(sorted(tmp_path.rglob("batch_*.npz")))
    assert len(counted) == n_batches - 1  # the finished batch was not solved again
    for name in ("csi", "cir", "ue_pos", "bs_pos", "los", "env_map"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(data, name))
    for group in ("labels", "extras", "shared"):
        for k, v in getattr(data, group).items():
            np.testing.assert_array_equal(getattr(resumed, group)[k], v)


def test_bad_parameters_are_typed_errors(rt):
    with pytest.raises(GeneratorParameterError, match="area"):
        sionna_rt.generate(2, area=(10.0, 0.0, 0.0, 5.0), **SMALL)
    with pytest.raises(GeneratorParameterError, match="scene_file"):
        sionna_rt.generate(2, scene_file="no-such-scene.xml", **{k: v for k, v in SMALL.items() if k != "scene"})


def test_a_filled_path_cap_splits_the_batch_instead_of_dropping_paths(rt, data, tmp_path):
    """Sionna keeps at most max_num_paths_per_src candidates and drops the rest silently."""
    tight = sionna_rt.generate(N, seed=3, checkpoint_dir=str(tmp_path), **{**SMALL, "max_paths_per_ue": 1})
    assert tight.meta["cap_splits"] > 0 and data.meta["cap_splits"] == 0
    np.testing.assert_array_equal(tight.csi, data.csi)
    np.testing.assert_array_equal(tight.extras["n_paths"], data.extras["n_paths"])
