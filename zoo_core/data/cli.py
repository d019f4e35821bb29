"""`wzoo data`: make, convert, preview and list wireless data sets.

    wzoo data list
    wzoo data make city --n 2000 --out city.h5 --seed 1 --param n_bs=2   # or --n-bs 2
    wzoo data convert ut-har ~/data/UT_HAR --out ut_har_train.h5 --param split=train
    wzoo data show city.h5 --out city.png

This module is imported whenever the `wzoo` CLI starts, so it imports nothing heavy at
module level (no numpy, h5py, matplotlib or torch): each command imports what it uses.
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

from zoo_core.errors import WzooError

PREVIEW_SAMPLES = 8


def configure(parser) -> None:
    """Fill the `data` sub-parser the core CLI created (see hookspecs.register_commands)."""
    parser.description = "Make, convert, preview and list wireless data sets."
    parser.set_defaults(func=_usage(parser))
    sub = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND")

    p = sub.add_parser("list", help="registered generators and loaders")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("make", help="generate a data set with a registered generator and save it")
    p.add_argument("kind", help="registered data set kind (see `wzoo data list`)")
    p.add_argument("--n", type=int, required=True, help="number of samples")
    p.add_argument("--out", required=True, help="output HDF5 file")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    _param_option(p, "generator parameter")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_make, extra_params=True)  # `--scene etoile` reads as --param scene=etoile

    p = sub.add_parser("convert", help="read a data set in a known format (DeepMIMO, UT-HAR, ...) and save it")
    p.add_argument("format", help="loader format (see `wzoo data list`)")
    p.add_argument("src", help="file or folder to read")
    p.add_argument("--out", required=True, help="output HDF5 file")
    p.add_argument("--map", help="field map of the `arrays` loader: csi=channel,los=LoS,ue_pos=location")
    _param_option(p, "loader option")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("show", help="print a data file's fields and write a PNG preview")
    p.add_argument("file", help="a file written by `wzoo data make` / `convert` / WirelessData.save")
    p.add_argument("--out", help="preview PNG (default: FILE with suffix .png)")
    p.add_argument("--samples", type=int, default=PREVIEW_SAMPLES, help="samples in the CSI grid")
    p.set_defaults(func=cmd_show)


def _param_option(p, what: str) -> None:
    p.add_argument("--param", "--set", dest="params", action="append", default=[], metavar="KEY=VALUE",
                   help=f"{what}; VALUE is read as JSON when it parses (3, 0.5, true, [8,4]), else as text")


def _usage(parser):
    def run(args) -> int:
        parser.print_help()
        return 2

    return run


# ---------------------------------------------------------------------- helpers
def parse_params(items) -> dict:
    """['a=1', 'b=[8,4]', 'c=text'] -> {'a': 1, 'b': [8, 4], 'c': 'text'} (as `wzoo run --set`)."""
    from zoo_core.data.errors import GeneratorParameterError
    from zoo_core.errors import WzooError
    from zoo_core.recipes import parse_options

    try:
        return parse_options(items, flag="--param")
    except WzooError as exc:
        raise GeneratorParameterError(str(exc)) from None


def _check_params(func, params: dict, what: str, reserved=()) -> None:
    """Refuse parameter names the function does not take, listing the ones it does."""
    from zoo_core.data.errors import GeneratorParameterError

    clash = sorted(set(params) & set(reserved))
    if clash:
        raise GeneratorParameterError(f"{what}: {', '.join(clash)} is set by its own option, not --param")
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return
    accepted = [n for n, p in sig.parameters.items()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n not in reserved]
    unknown = sorted(set(params) - set(accepted) - set(reserved))
    if unknown:
        import difflib

        by_lower = {a.lower(): a for a in accepted}
        hints = {u: [by_lower[u.lower()]] if u.lower() in by_lower else difflib.get_close_matches(u, accepted, n=1)
                 for u in unknown}
        shown = ", ".join(f"{u!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for u, h in hints.items())
        raise GeneratorParameterError(f"{what} has no parameter {shown}; it accepts: {', '.join(accepted)}")
    from zoo_core.errors import ConfigValueError
    from zoo_core.validation import type_hints, validate_value

    annotated = type_hints(func)
    for name, value in params.items():  # the types and ranges the function annotates
        if name in annotated:
            try:
                validate_value(value, annotated[name], what, name)
            except ConfigValueError as exc:
                raise GeneratorParameterError(str(exc)) from None


def _saved(data, out) -> str:
    from zoo_core.data.sample import WirelessData

    if not isinstance(data, WirelessData):
        raise WzooError(f"expected a WirelessData to save, got {type(data).__name__}")
    try:
        path = data.save(out)
    except (IsADirectoryError, NotADirectoryError, PermissionError, FileExistsError) as exc:
        raise WzooError(f"cannot write {out} ({exc.strerror or type(exc).__name__}): "
                        "pass an --out file in a folder you can write") from None
    return f"wrote {path}: {data!r}"


def describe(data) -> str:
    """A short multi-line summary: fields with shapes and dtypes, then meta."""
    rows = []
    for name in ("csi", "cir", "bs_pos", "ue_pos", "los", "scene_id", "env_map", "env_edges", "map_scale"):
        arr = getattr(data, name)
        if arr is not None:
            note = "axes (N, rx, tx, subcarrier, symbol)" if name == "csi" else ""
            rows.append((name, arr, note))
    for group in ("labels", "extras", "shared"):
        for key, arr in getattr(data, group).items():
            rows.append((f"{group}.{key}", arr, ""))
    width = max(len(r[0]) for r in rows)
    shape_width = max(len(str(tuple(r[1].shape))) for r in rows)
    lines = [f"{len(data)} samples"]
    for name, arr, note in rows:
        lines.append(f"  {name:<{width}}  {str(tuple(arr.shape)):<{shape_width}}  {str(arr.dtype):<10} {note}".rstrip())
    if data.los is not None:
        lines.append(f"  LOS fraction {float(data.los.mean()):.3f}")
    meta = json.dumps(data.meta, sort_keys=True, default=str)
    lines.append("meta: " + (meta if len(meta) <= 600 else meta[:600] + " …"))
    return "\n".join(lines)


# ---------------------------------------------------------------------- commands
def cmd_list(args) -> int:
    from zoo_core.data.sources import _records

    generators, loaders = _records("generator"), _records("loader")
    width = max([len(r.name) for r in generators + loaders] + [4])
    for title, records in (("generators (wzoo data make NAME --n N --out FILE; --data NAME)", generators),
                           ("loaders (wzoo data convert NAME SRC --out FILE; --data NAME:SRC)", loaders)):
        print(f"{title}:")
        if not records:
            print("  none registered")
        for rec in records:
            origin = "" if rec.plugin == "core" else f"  [{rec.plugin}]"
            print(f"  {rec.name:<{width}}  {rec.description}{origin}")
    return 0


def cmd_make(args) -> int:
    from zoo_core.data.errors import GeneratorParameterError
    from zoo_core.data.sources import _load, _record

    record = _record(args.kind, "generator")  # UnknownNameError with close matches
    if args.n < 1:
        raise GeneratorParameterError(f"--n must be a positive number of samples, got {args.n}")
    if args.seed < 0:
        raise GeneratorParameterError(f"--seed must be a non-negative integer, got {args.seed}")
    if Path(args.out).is_dir():  # before generating anything
        raise WzooError(f"cannot write {args.out} (a folder): pass an --out file in a folder you can write")
    params = parse_params(args.params)
    factory = _load(record)
    _check_params(factory, params, f"data set {args.kind!r}", reserved=("n", "seed", "progress"))
    data = factory(args.n, seed=args.seed, progress=not args.quiet, **params)
    print(_saved(data, args.out))
    return 0


def cmd_convert(args) -> int:
    from zoo_core.data.sources import loader

    func = loader(args.format)  # UnknownNameError with close matches
    params = parse_params(args.params)
    if args.map is not None:
        params["map"] = args.map
    _check_params(func, params, f"loader {args.format!r}", reserved=())
    first = next(iter(inspect.signature(func).parameters), None)
    if first in params:
        from zoo_core.data.errors import GeneratorParameterError

        raise GeneratorParameterError(f"loader {args.format!r}: give the source as SRC, not --param {first}=")
    data = func(args.src, **params)
    print(_saved(data, args.out))
    return 0


def cmd_show(args) -> int:
    from zoo_core.data.sample import WirelessData

    data = WirelessData.load(args.file)
    print(f"{args.file}: {describe(data)}")
    out = Path(args.out) if args.out else Path(args.file).with_suffix(".png")
    for path in write_preview(data, out, max(1, args.samples)):
        print(f"preview: {path}")
    return 0


def write_preview(data, out: Path, n_samples: int = PREVIEW_SAMPLES) -> list[Path]:
    """CSI magnitude grid at `out`; the scene view at `<out>-scene.png` when there is a map."""
    import numpy as np

    from zoo_core.data import plots

    n = len(data)
    picks = np.unique(np.linspace(0, n - 1, min(n, n_samples)).round().astype(int))
    images, titles = [], []
    names = data.meta.get("class_names")
    for i in picks:
        h = data.csi[i]  # (rx, tx, sc, sym)
        rx, tx, sc, sym = h.shape
        img = h.reshape(rx * tx, sc) if sym == 1 else h.reshape(rx * tx * sc, sym)
        images.append(np.abs(img))
        titles.append(_title(data, int(i), names))
    shape = data.csi.shape[1:]
    layout = "rows rx*tx, columns subcarrier" if shape[3] == 1 else "rows rx*tx*subcarrier, columns symbol"
    written = [plots.plot_csi_grid(images, out, titles=titles,
                                   title=f"|CSI| {tuple(shape)} ({layout})")]
    if data.env_map is not None:
        s = int(data.scene_id[picks[0]])
        in_scene = data.scene_id == s
        bs = np.unique(data.bs_pos[in_scene], axis=0) if data.bs_pos is not None else np.zeros((0, 3))
        ue = data.ue_pos[in_scene] if data.ue_pos is not None else np.zeros((0, 3))
        los = data.los[in_scene] if data.los is not None else None
        scale = float(data.map_scale[s]) if data.map_scale is not None else 1.0
        scene_out = out.with_name(out.stem + "-scene.png")
        written.append(plots.plot_scene(data.env_map[s], bs, ue, los, scale, scene_out,
                                        title=f"scene {s}: {int(in_scene.sum())} samples"))
    return written


def _title(data, i: int, names) -> str:
    parts = [f"#{i}"]
    for key in ("activity", "class"):
        if key in data.labels:
            label = int(data.labels[key][i])
            parts.append(names[label] if isinstance(names, list) and 0 <= label < len(names) else f"{key} {label}")
    if data.los is not None:
        parts.append("LOS" if data.los[i] else "NLOS")
    if "snr_db" in data.extras:
        parts.append(f"{float(data.extras['snr_db'][i]):.0f} dB")
    return " ".join(parts)


if __name__ == "__main__":  # pragma: no cover
    import argparse

    top = argparse.ArgumentParser(prog="wzoo data")
    configure(top)
    ns = top.parse_args()
    sys.exit(ns.func(ns))
