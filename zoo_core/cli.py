"""The `wzoo` command line. Exit codes: 0 ok, 1 user error (one-line reason), 2 usage.

Listing commands never import torch; model commands import it when they run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from . import __version__
from .errors import WzooError, one_line


def _print_table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def cmd_list(args) -> int:
    from . import list_models
    from .plugins import registry

    specs = [registry().get("model", name) for name in list_models(args.pattern)]
    if args.json:
        print(json.dumps([s.summary() for s in specs], indent=2))
    elif not specs:
        print("no models" + (f" match {args.pattern!r}" if args.pattern else "; install a plugin (see `wzoo plugins`)"))
    else:
        _print_table([[s.name, ",".join(sorted(s.heads)) or "-", s.hub_repo or "-", s.description] for s in specs],
                     ["model", "tasks", "hub repo", "description"])
    return 0


def cmd_plugins(args) -> int:
    from .plugins import list_plugins

    plugins = list_plugins()
    if args.json:
        print(json.dumps([p.as_dict() for p in plugins], indent=2))
        return 0
    _print_table([[p.name, p.distribution or "-", p.version or "-", p.status, p.error or ""] for p in plugins],
                 ["plugin", "distribution", "version", "status", "error"])
    return 0


def cmd_info(args) -> int:
    from .factory import model_config
    from .plugins import registry

    config = model_config(args.name).to_json()
    config["hub_repo"] = registry().get("model", args.name).hub_repo
    print(json.dumps(config, indent=2))
    return 0


def cmd_pull(args) -> int:
    from .hub import commit_of, resolve
    from .serialization import load_model_folder

    folder = resolve(args.ref, args.revision, args.local_files_only, force_download=args.force)
    load_model_folder(folder)  # proves the download is complete and loadable
    sha = commit_of(folder)
    print(f"{folder}" + (f"  (commit {sha})" if sha else ""))
    return 0


def cmd_push(args) -> int:
    from .hub import push_folder

    sha = push_folder(args.dir, args.repo_id, revision=args.revision, commit_message=args.message,
                      private=args.private or None)
    print(sha)
    return 0


def cmd_card(args) -> int:
    from .card import render_card, validate_card
    from .serialization import CARD_NAME, atomic_write, check_model_folder, read_config

    folder = Path(args.dir)
    check_model_folder(folder)
    card = render_card(read_config(folder).to_json(), repo_id=args.repo_id)
    atomic_write(folder / CARD_NAME, lambda p: p.write_text(str(card), encoding="utf-8"))
    meta = validate_card(folder / CARD_NAME)
    print(f"{folder / CARD_NAME}: valid (library_name={meta['library_name']}, license={meta['license']}, "
          f"{len(meta.get('tags', []))} tags)")
    return 0


def cmd_run(args) -> int:
    from .recipes import list_recipes, parse_options, recipe_help, run_recipe

    if args.help:
        if args.recipe:
            print(recipe_help(args.recipe))
        else:
            args.parser.print_help()
        return 0
    if args.list or not args.recipe:
        rows = [[r.name, r.description] for r in list_recipes()]
        _print_table(rows, ["recipe", "description"]) if rows else print("no recipes installed")
        return 0 if args.list else 2
    out = Path(args.out) if args.out else Path("runs") / args.recipe.replace("/", "-")
    options = parse_options(args.set or [])
    if args.data is not None:  # the recipe's `data` option: a file, LOADER:PATH or a generator name
        options["data"] = args.data
    metrics = run_recipe(args.recipe, out, options, overwrite=args.overwrite)
    print(json.dumps(metrics, indent=2, sort_keys=True))
    print(f"results in {out}")
    return 0


PLUGIN_NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
RESERVED_PLUGIN_NAMES = frozenset({"core"})  # the core registers itself as plugin `core`
_TOKEN = re.compile(r"\{\{(\w+)\}\}")


class NewPluginError(WzooError, ValueError):
    """A plugin name or an output folder that `wzoo new-plugin` refuses."""


def check_plugin_name(name: str) -> str:
    if not isinstance(name, str) or not PLUGIN_NAME.match(name):
        raise NewPluginError(f"plugin name {name!r} is not allowed: use 2-31 characters, lower-case letters, "
                             "digits or '_', starting with a letter (e.g. 'radar_fm')")
    if name in RESERVED_PLUGIN_NAMES:
        raise NewPluginError(f"plugin name {name!r} is reserved by wzoo itself; pick another name")
    return name


def render_plugin(name: str) -> dict[str, str]:
    """The files of a new plugin's layout, {relative path: text}, from `zoo_core/templates/plugin/`.

    Template paths say `NAME` where the plugin name goes (`zoo_NAME/`, `bench_NAME.py`) and end
    in `.tmpl`; their text says `{{name}}`, `{{Name}}` (CamelCase) and `{{wzoo_version}}`."""
    from importlib.resources import files

    check_plugin_name(name)
    values = {"name": name, "Name": "".join(p.capitalize() for p in name.split("_")), "wzoo_version": __version__}
    rendered: dict[str, str] = {}

    def walk(node, parts: tuple[str, ...]) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.is_dir():
                if child.name != "__pycache__":
                    walk(child, (*parts, child.name))
            elif child.name.endswith(".tmpl"):
                path = "/".join((*parts, child.name[: -len(".tmpl")])).replace("NAME", name)
                rendered[path] = _TOKEN.sub(lambda m: values[m.group(1)], child.read_text(encoding="utf-8"))

    walk(files("zoo_core").joinpath("templates", "plugin"), ())
    return rendered


def write_plugin(name: str, out: str | Path) -> list[Path]:
    """Write a new plugin's layout into `out`, which must not exist or be an empty folder."""
    check_plugin_name(name)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise NewPluginError(f"{out} already exists and is not an empty folder; pick another --out")
    rendered = render_plugin(name)
    written = []
    try:
        for rel, text in rendered.items():
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        raise NewPluginError(f"cannot write the plugin into {out}: {exc.strerror or exc}") from None
    return written


def cmd_new_plugin(args) -> int:
    out = Path(args.out) if args.out else Path("plugins") / check_plugin_name(args.name)
    written = write_plugin(args.name, out)
    for path in written:
        print(path)
    print(f"wrote plugin {args.name!r} ({len(written)} files) to {out}; next: "
          f"pip install -e {out} && python -m pytest {out / 'tests'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wzoo", description="A model zoo for wireless foundation models.")
    parser.add_argument("--version", action="version", version=f"wzoo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("list", help="list registered models")
    p.add_argument("pattern", nargs="?", help="substring or shell pattern, e.g. 'wavesfm/*'")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("plugins", help="installed plugins, versions and load errors")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("info", help="show a registered model's config")
    p.add_argument("name")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("pull", help="download a model (hf-hub:org/name[@rev] or a registered name)")
    p.add_argument("ref")
    p.add_argument("--revision")
    p.add_argument("--local-files-only", action="store_true")
    p.add_argument("--force", action="store_true", help="download again even if cached")
    p.set_defaults(func=cmd_pull)

    p = sub.add_parser("push", help="push a saved model folder to the Hub in one commit")
    p.add_argument("dir")
    p.add_argument("repo_id")
    p.add_argument("--revision", help="branch to commit to")
    p.add_argument("--message", help="commit message")
    p.add_argument("--private", action="store_true")
    p.set_defaults(func=cmd_push)

    p = sub.add_parser("card", help="render and validate a model folder's README.md card")
    p.add_argument("dir")
    p.add_argument("--repo-id", help="Hub repo the card's loading snippet should name")
    p.set_defaults(func=cmd_card)

    p = sub.add_parser("run", help="run a recipe: adapt, evaluate, write metrics, plots and a model",
                       add_help=False)
    p.add_argument("recipe", nargs="?")
    p.add_argument("-h", "--help", action="store_true", help="this help; with a RECIPE: its options, defaults and "
                                                                "expected CPU time")
    p.add_argument("--out", help="output folder (default runs/<recipe>)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="recipe option (repeatable)")
    p.add_argument("--overwrite", action="store_true", help="write into an --out folder of another run")
    p.add_argument("--data", help="the data a recipe with a `data` option runs on: a sample-format file, "
                                  "LOADER:PATH or a generator name (see `wzoo run RECIPE --help`)")
    p.add_argument("--list", action="store_true", help="list installed recipes")
    p.set_defaults(func=cmd_run, parser=p)

    p = sub.add_parser("new-plugin", help="write a new plugin's layout (registration, towers, transforms, "
                                          "heads, losses, errors, README, tests, benchmarks)")
    p.add_argument("name", help="plugin name: lower-case letters, digits, '_' (e.g. radar_fm)")
    p.add_argument("--out", help="folder to write into; must not exist or be empty (default plugins/NAME)")
    p.set_defaults(func=cmd_new_plugin)

    _add_plugin_commands(sub)
    return parser


def _add_plugin_commands(sub) -> None:
    from .plugins import registry

    for entry in registry().items("command"):
        if entry.name in sub.choices:
            print(f"wzoo: warning: plugin {entry.plugin!r} registers command {entry.name!r}, "
                  "which already exists; ignored", file=sys.stderr)
            continue
        p = sub.add_parser(entry.name, help=entry.metadata.get("help", entry.description))
        try:
            entry.load()(p)
        except Exception as exc:  # a broken command must not break the others
            p.set_defaults(func=_broken(entry.name, exc))


def _broken(name: str, exc: Exception):
    def run(args) -> int:
        raise WzooError(f"command {name!r} failed to load: {type(exc).__name__}: {exc}")

    return run


def _extra_params(extra: list[str], args, parser) -> list[str]:
    """`--scene etoile --n-ue 40` after `wzoo data make KIND` as generator parameters
    (`scene=etoile`, `n_ue=40`); any other command refuses arguments it does not know."""
    if not getattr(args, "extra_params", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    pairs, rest = [], list(extra)
    while rest:
        flag = rest.pop(0)
        if not flag.startswith("--") or len(flag) < 3:
            parser.error(f"unrecognized argument {flag!r}: generator parameters are --NAME VALUE")
        name, eq, value = flag[2:].partition("=")
        if not eq:
            if not rest or rest[0].startswith("--"):
                parser.error(f"{flag} needs a value (--NAME VALUE)")
            value = rest.pop(0)
        pairs.append(f"{name.replace('-', '_')}={value}")
    return pairs


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra:
            args.params = [*getattr(args, "params", []), *_extra_params(extra, args, parser)]
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except WzooError as exc:
        print(f"wzoo: error: {one_line(exc, 1000)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("wzoo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`wzoo bench --list | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug, not the user's doing: one line, the traceback on request
        if os.environ.get("WZOO_DEBUG", "").strip() not in ("", "0"):
            raise
        print(f"wzoo: internal error: {type(exc).__name__}: {one_line(exc, 1000)} "
              "(set WZOO_DEBUG=1 for the traceback, and please report it)", file=sys.stderr)
        return 1



if __name__ == "__main__":
    sys.exit(main())
