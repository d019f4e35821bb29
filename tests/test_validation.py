"""Config arguments are checked against the factory's signature before anything is built."""

from __future__ import annotations

import enum
import functools
import math
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, Optional, Union

import pytest

from zoo_core.errors import ConfigError, ConfigValueError
from zoo_core.validation import (
    MAX_DEPTH,
    MAX_ITEMS,
    CommitSha,
    Count,
    MaxLen,
    Pattern,
    Range,
    Rate,
    Size,
    validate_arguments,
    validate_value,
)

if TYPE_CHECKING:  # resolvable only by a type checker: at run time the hint cannot be evaluated
    from some_missing_module import Tensor  # noqa: F401

WHAT = "head 'linear' of task 'los'"
SHA = "0123456789abcdef0123456789abcdef01234567"


# ------------------------------------------------------------------- example factories


def linear(in_features: int, num_outputs: Size, dropout: Rate = 0.0, bias: bool = True):
    return ("linear", in_features, num_outputs, dropout, bias)


class Backbone:
    def __init__(self, arch: Literal["vit-s", "vit-b"], hidden: Sequence[Size] = (64,),
                 revision: CommitSha | None = None, patch: tuple[Size, Size] = (4, 4),
                 scales: tuple[float, ...] = (), depth: Count = 0):
        self.arch = arch


def floats(scale: float = 1.0, gain: Optional[float] = None, name: str = "x", flag: bool = False):
    pass


def shaped(pair: tuple[int, str] = (1, "a"), empty: tuple[()] = (), table: dict[str, Size] | None = None,
           words: list[str] = (), short: Annotated[str, MaxLen(4)] = "", few: Annotated[list[int], MaxLen(2)] = (),
           slug: Annotated[str, Pattern(r"[a-z]+", "lowercase letters")] = "a",
           choice: Union[Literal["a", "b"], Size] = "a", grid: list[list[Size]] = (),
           half: Annotated[float, Range(hi=0.5)] = 0.0, positive: Annotated[int, Range(lo=1)] = 1):
    pass


def anything(payload: Any = None, bare=None, meta: dict = None, items: list = ()):  # noqa: RUF013
    pass


def open_kwargs(width: Size = 8, **extra):
    pass


def typed_kwargs(width: Size = 8, **extra: int):
    pass


def unresolved(weights: Tensor = None, width: Size = 8):  # noqa: F821
    pass


def positional(x: int, /, y: int = 0):
    pass


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


def painted(color: Color = Color.RED):
    pass


@dataclass
class HeadConfig:
    num_outputs: Size
    dropout: Rate = 0.1


class NoArgs:
    pass


class KwargsClass:
    def __init__(self, a: Size = 1, **rest):
        pass


def refuse(factory, args, injected=(), what=WHAT) -> ConfigValueError:
    """Expect exactly one ConfigValueError, and check it is one readable line."""
    with pytest.raises(ConfigValueError) as info:
        validate_arguments(factory, args, what, injected)
    err = info.value
    text = str(err)
    assert "\n" not in text and "\r" not in text, text
    assert text.isprintable(), text
    assert text.startswith(what + ": "), text
    assert err.what == what
    assert isinstance(err, ConfigError)
    return err


# --------------------------------------------------------------------------- the basics


def test_good_arguments_come_back_as_a_copy():
    args = {"num_outputs": 6, "dropout": 0.25}
    out = validate_arguments(linear, args, WHAT, ("in_features",))
    assert out == args and out is not args
    assert linear(3, **out) == ("linear", 3, 6, 0.25, True)


def test_the_documented_message():
    err = refuse(linear, {"num_outputs": "6"}, ("in_features",))
    assert str(err) == ("head 'linear' of task 'los': num_outputs='6' is not allowed "
                        "(expected an integer in [1, 16777216])")
    assert (err.key, err.value, err.path) == ("num_outputs", "6", "num_outputs")


@pytest.mark.parametrize("bad", ["6", -6, 0, math.nan, math.inf, True, False, 6.0, None, [6], {"n": 6},
                                 20_000_000, 1 << 24 | 1, 10**400])
def test_size_refuses(bad):
    err = refuse(linear, {"num_outputs": bad}, ("in_features",))
    assert "num_outputs=" in str(err) and "expected an integer in [1, 16777216]" in str(err)
    assert err.key == "num_outputs"


@pytest.mark.parametrize("good", [1, 6, 1 << 24])
def test_size_accepts(good):
    assert validate_arguments(linear, {"num_outputs": good}, WHAT, ("in_features",)) == {"num_outputs": good}


def test_huge_size_refused_with_its_value():
    err = refuse(linear, {"num_outputs": 2 * 10**7}, ("in_features",))
    assert "num_outputs=20000000 is not allowed" in str(err)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "0.1", True, -0.1, 1.5, None])
def test_rate_refuses(bad):
    err = refuse(linear, {"num_outputs": 2, "dropout": bad}, ("in_features",))
    assert "expected a finite number in [0.0, 1.0]" in str(err)


@pytest.mark.parametrize("good", [0, 1, 0.0, 0.5, 1.0])
def test_rate_accepts_ints_and_floats(good):
    out = validate_arguments(linear, {"num_outputs": 2, "dropout": good}, WHAT, ("in_features",))
    assert out["dropout"] == good


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "1.0", True, 10**400])
def test_float_refuses(bad):
    err = refuse(floats, {"scale": bad})
    assert "expected a finite number" in str(err)


def test_float_optional_and_plain_types():
    assert validate_arguments(floats, {"scale": -3, "gain": None, "name": "", "flag": True}, WHAT)["scale"] == -3
    assert "expected a finite number or null" in str(refuse(floats, {"gain": "x"}))
    assert "expected true or false" in str(refuse(floats, {"flag": 1}))
    assert "expected true or false" in str(refuse(floats, {"flag": "true"}))
    assert "expected a string" in str(refuse(floats, {"name": 3}))


# ----------------------------------------------------------------- keys and the signature


def test_unknown_key_lists_the_accepted_ones():
    err = refuse(linear, {"num_outputs": 6, "num_output": 6}, ("in_features",))
    assert "unknown argument num_output=6" in str(err)
    assert "accepted: bias, dropout, num_outputs" in str(err)
    assert "did you mean num_outputs?" in str(err)
    assert "in_features" not in str(err)  # injected: not something the config may set
    assert err.key == "num_output"


def test_missing_required():
    err = refuse(linear, {"dropout": 0.5}, ("in_features",))
    assert str(err) == (f"{WHAT}: missing required argument num_outputs "
                        "(expected an integer in [1, 16777216])")
    assert err.key == "num_outputs"


def test_injected_key_is_refused():
    err = refuse(linear, {"num_outputs": 6, "in_features": 3}, ("in_features",))
    assert "in_features=3 is not allowed" in str(err) and "wzoo sets it itself" in str(err)
    assert err.key == "in_features"


def test_injected_required_is_not_missing():
    assert validate_arguments(linear, {"num_outputs": 2}, WHAT, ("in_features",)) == {"num_outputs": 2}
    assert "missing required argument in_features" in str(refuse(linear, {"num_outputs": 2}))


@pytest.mark.parametrize("args", [[1, 2], "num_outputs=6", None, 6])
def test_arguments_must_be_an_object(args):
    err = refuse(linear, args)
    assert "expected a JSON object of keyword arguments" in str(err)
    assert err.key is None


def test_keys_must_be_strings():
    err = refuse(open_kwargs, {3: 4})
    assert "argument name 3 is not allowed (expected a string)" in str(err)


def test_hostile_key_stays_on_one_line():
    err = refuse(linear, {"num_outputs": 6, "evil\nkey\u2028" + "x" * 500: "line1\nline2"}, ("in_features",))
    assert "unknown argument 'evil\\nkey\\u2028" in str(err)
    assert len(str(err)) < 400


def test_long_values_are_cut_short():
    err = refuse(linear, {"num_outputs": "9" * 10_000}, ("in_features",))
    assert len(str(err)) < 200
    err = refuse(linear, {"num_outputs": list(range(5000))}, ("in_features",))
    assert len(str(err)) < 200


def test_kwargs_factory_takes_any_json_key():
    out = validate_arguments(open_kwargs, {"width": 4, "whatever": [1, {"a": None}], "x y": "z"}, WHAT)
    assert out == {"width": 4, "whatever": [1, {"a": None}], "x y": "z"}
    assert "width=0 is not allowed" in str(refuse(open_kwargs, {"width": 0}))
    assert "expected a JSON value" in str(refuse(open_kwargs, {"other": math.nan}))
    assert "expected a JSON value" in str(refuse(open_kwargs, {"other": {1, 2}}))


def test_annotated_kwargs_are_checked_per_value():
    assert validate_arguments(typed_kwargs, {"a": 1, "b": 2}, WHAT) == {"a": 1, "b": 2}
    err = refuse(typed_kwargs, {"a": 1, "b": "2"})
    assert "b='2' is not allowed (expected an integer)" in str(err)


def test_kwargs_factory_still_refuses_injected():
    assert "wzoo sets it itself" in str(refuse(open_kwargs, {"in_features": 3}, ("in_features",)))


def test_positional_only_cannot_be_passed_by_name():
    assert "unknown argument x=1" in str(refuse(positional, {"x": 1}))
    assert validate_arguments(positional, {"y": 2}, WHAT, ("x",)) == {"y": 2}


# ------------------------------------------------------------------------ Literal, Enum, sha


def test_literal_choices():
    assert validate_arguments(Backbone, {"arch": "vit-b"}, WHAT) == {"arch": "vit-b"}
    err = refuse(Backbone, {"arch": "hf-hub:x"})
    assert str(err) == f"{WHAT}: arch='hf-hub:x' is not allowed (expected one of 'vit-s', 'vit-b')"


def test_literal_is_type_exact():
    def f(mode: Literal[1, True, "1"] = 1):
        pass

    assert validate_arguments(f, {"mode": True}, WHAT) == {"mode": True}
    assert "expected one of 1, True, '1'" in str(refuse(f, {"mode": 1.0}))


def test_enum_values():
    assert validate_arguments(painted, {"color": "blue"}, WHAT) == {"color": "blue"}
    assert "expected one of 'red', 'blue'" in str(refuse(painted, {"color": "green"}))


def test_commit_sha():
    assert validate_arguments(Backbone, {"arch": "vit-s", "revision": SHA}, WHAT)["revision"] == SHA
    for bad in ["main", SHA.upper(), SHA + "0", SHA[:-1], SHA + "\n", 123]:
        err = refuse(Backbone, {"arch": "vit-s", "revision": bad})
        assert "expected a 40-character hex commit sha or null" in str(err)


def test_pattern_maxlen_and_open_ranges():
    assert validate_arguments(shaped, {"slug": "abc", "short": "abcd", "few": [1, 2]}, WHAT)
    assert "expected lowercase letters" in str(refuse(shaped, {"slug": "ABC"}))
    assert "expected a string of at most 4 characters" in str(refuse(shaped, {"short": "abcde"}))
    assert "expected a list of at most 2 items (each an integer)" in str(refuse(shaped, {"few": [1, 2, 3]}))
    assert "few[1]='2' is not allowed (expected an integer)" in str(refuse(shaped, {"few": [1, "2"]}))
    assert "expected a finite number <= 0.5" in str(refuse(shaped, {"half": 0.6}))
    assert "expected an integer >= 1" in str(refuse(shaped, {"positive": 0}))


def test_markers_check_their_own_arguments():
    with pytest.raises(ValueError):
        Range(2, 1)
    with pytest.raises(TypeError):
        Range(math.nan, 1)
    with pytest.raises(ValueError):
        MaxLen(-1)
    assert Count.__metadata__[0].accepts(0) and not Size.__metadata__[0].accepts(0)


# -------------------------------------------------------------------------- containers


def test_sequence_of_sizes_names_the_bad_item():
    assert validate_arguments(Backbone, {"arch": "vit-s", "hidden": [128, 64]}, WHAT)["hidden"] == [128, 64]
    err = refuse(Backbone, {"arch": "vit-s", "hidden": [128, -3, 64]})
    assert str(err) == f"{WHAT}: hidden[1]=-3 is not allowed (expected an integer in [1, 16777216])"
    assert (err.key, err.path, err.value) == ("hidden", "hidden[1]", -3)


@pytest.mark.parametrize("bad", ["64", 64, {"a": 1}, None])
def test_sequence_needs_a_list(bad):
    err = refuse(Backbone, {"arch": "vit-s", "hidden": bad})
    assert "expected a list of items (each an integer in [1, 16777216])" in str(err)


def test_nested_lists_name_the_full_path():
    err = refuse(shaped, {"grid": [[1, 2], [3, 0]]})
    assert "grid[1][1]=0 is not allowed" in str(err)


def test_fixed_and_variadic_tuples_accept_json_lists():
    out = validate_arguments(Backbone, {"arch": "vit-s", "patch": [16, 16], "scales": [0.5, 1]}, WHAT)
    assert out["patch"] == [16, 16] and out["scales"] == [0.5, 1]
    assert "patch=[16] is not allowed (expected a list of exactly 2 items" in str(
        refuse(Backbone, {"arch": "vit-s", "patch": [16]}))
    assert "patch=[16, 16, 16]" in str(refuse(Backbone, {"arch": "vit-s", "patch": [16, 16, 16]}))
    assert "patch[0]=0 is not allowed" in str(refuse(Backbone, {"arch": "vit-s", "patch": [0, 16]}))
    assert "scales[1]=nan" in str(refuse(Backbone, {"arch": "vit-s", "scales": [1.0, math.nan]}))
    assert "pair[1]=2 is not allowed (expected a string)" in str(refuse(shaped, {"pair": [1, 2]}))
    assert validate_arguments(shaped, {"pair": (1, "b"), "empty": []}, WHAT) == {"pair": (1, "b"), "empty": []}
    assert "expected an empty list" in str(refuse(shaped, {"empty": [1]}))


def test_dict_of_sizes():
    assert validate_arguments(shaped, {"table": {"a": 1}}, WHAT) == {"table": {"a": 1}}
    assert "table['b']=0 is not allowed" in str(refuse(shaped, {"table": {"a": 1, "b": 0}}))
    assert "expected an object with string keys (each value an integer in [1, 16777216]) or null" in str(
        refuse(shaped, {"table": [1]}))


def test_list_of_strings_refuses_a_string():
    assert "words='abc' is not allowed" in str(refuse(shaped, {"words": "abc"}))


def test_result_does_not_share_containers():
    args = {"arch": "vit-s", "hidden": [1, 2]}
    out = validate_arguments(Backbone, args, WHAT)
    out["hidden"].append(3)
    assert args["hidden"] == [1, 2]


# ------------------------------------------------------------------------------ unions


def test_optional_accepts_none_and_reports_both_choices():
    assert validate_arguments(Backbone, {"arch": "vit-s", "revision": None}, WHAT)["revision"] is None
    assert "expected a finite number or null" in str(refuse(floats, {"gain": math.nan}))


def test_union_reports_the_deepest_failure():
    def f(hidden: Sequence[Size] | None = None):
        pass

    assert "hidden[2]=0 is not allowed" in str(refuse(f, {"hidden": [1, 2, 0]}))
    assert "expected a list of items (each an integer in [1, 16777216]) or null" in str(refuse(f, {"hidden": 3}))


def test_union_of_literal_and_size():
    assert validate_arguments(shaped, {"choice": 3}, WHAT) == {"choice": 3}
    assert validate_arguments(shaped, {"choice": "b"}, WHAT) == {"choice": "b"}
    assert "expected one of 'a', 'b' or an integer in [1, 16777216]" in str(refuse(shaped, {"choice": "c"}))


# --------------------------------------------------------------------- Any and limits


def _nested(depth):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


def test_any_accepts_plain_json():
    payload = {"a": [1, 2.5, "x", None, True, {"b": []}]}
    out = validate_arguments(anything, {"payload": payload, "bare": [1], "meta": {"k": 1}, "items": [None]}, WHAT)
    assert out["payload"] == payload


@pytest.mark.parametrize("key", ["payload", "bare"])
@pytest.mark.parametrize("bad", [math.nan, [1, math.inf], {1: 2}, {"a": {3}}, object(), b"bytes"])
def test_any_refuses_what_json_cannot_hold(key, bad):
    err = refuse(anything, {key: bad})
    assert "expected a" in str(err)
    assert err.key == key


def test_any_depth_limit():
    assert validate_arguments(anything, {"payload": _nested(MAX_DEPTH)}, WHAT)
    err = refuse(anything, {"payload": _nested(MAX_DEPTH + 1)})
    assert f"expected a value nested at most {MAX_DEPTH} deep" in str(err)
    err = refuse(anything, {"payload": _nested(100_000)})  # no recursion error on absurd nesting
    assert "nested at most" in str(err)


def test_any_size_limit():
    assert validate_arguments(anything, {"payload": list(range(MAX_ITEMS))}, WHAT)
    err = refuse(anything, {"payload": [list(range(100))] * 200})
    assert f"at most {MAX_ITEMS} items in all" in str(err)
    assert len(str(err)) < 200


def test_limits_apply_to_typed_lists_too():
    err = refuse(Backbone, {"arch": "vit-s", "hidden": [1] * (MAX_ITEMS + 1)})
    assert "items in all" in str(err)


def test_self_referencing_value_is_refused():
    loop = []
    loop.append(loop)
    assert "nested at most" in str(refuse(anything, {"payload": loop}))


# ------------------------------------------------------------- classes, odd factories


def test_class_uses_init():
    assert validate_arguments(Backbone, {"arch": "vit-s", "depth": 0}, WHAT) == {"arch": "vit-s", "depth": 0}
    assert "missing required argument arch" in str(refuse(Backbone, {}))
    assert "unknown argument self=" in str(refuse(KwargsClass, {"self": 1}))
    assert validate_arguments(KwargsClass, {"a": 2, "b": "x"}, WHAT) == {"a": 2, "b": "x"}


def test_dataclass():
    assert validate_arguments(HeadConfig, {"num_outputs": 3}, WHAT) == {"num_outputs": 3}
    assert "dropout=2 is not allowed" in str(refuse(HeadConfig, {"num_outputs": 3, "dropout": 2}))


def test_class_without_init_takes_nothing():
    assert validate_arguments(NoArgs, {}, WHAT) == {}
    assert "(it takes no arguments)" in str(refuse(NoArgs, {"a": 1}))


def test_partial():
    factory = functools.partial(linear, 3)
    assert validate_arguments(factory, {"num_outputs": 2}, WHAT) == {"num_outputs": 2}
    assert "num_outputs=0" in str(refuse(factory, {"num_outputs": 0}))


class CallableFactory:
    label: str  # a class attribute, not a parameter: must not be mistaken for one

    def __call__(self, width: Size = 8):
        pass


def test_callable_object():
    assert validate_arguments(CallableFactory(), {"width": 2}, WHAT) == {"width": 2}
    assert "width=0 is not allowed" in str(refuse(CallableFactory(), {"width": 0}))
    assert "unknown argument label=" in str(refuse(CallableFactory(), {"label": "x"}))


def test_unresolvable_hint_is_not_checked_but_the_rest_is():
    assert validate_arguments(unresolved, {"weights": "anything"}, WHAT) == {"weights": "anything"}
    assert "width=0 is not allowed" in str(refuse(unresolved, {"width": 0}))
    assert "nested at most" in str(refuse(unresolved, {"weights": _nested(50)}))


def test_string_annotations_are_resolved():
    # this module uses `from __future__ import annotations`: every hint above is a string
    assert linear.__annotations__["num_outputs"] == "Size"
    assert "expected an integer in [1, 16777216]" in str(refuse(linear, {"num_outputs": 0}, ("in_features",)))


def test_validate_value_directly():
    assert validate_value([1, 2], list[Size], WHAT, "hidden") == [1, 2]
    with pytest.raises(ConfigValueError, match=r"hidden\[0\]=0 is not allowed"):
        validate_value([0], list[Size], WHAT, "hidden")


def test_aliases():
    assert validate_value(0, Count, WHAT, "n") == 0
    assert validate_value(1.0, Rate, WHAT, "p") == 1.0
    assert validate_value(SHA, CommitSha, WHAT, "rev") == SHA


def test_error_attributes_and_short_repr():
    err = ConfigValueError("backbone 'x'", "k", "v" * 1000, "a short string")
    assert err.key == "k" and err.value == "v" * 1000 and err.expected == "a short string"
    assert len(str(err)) < 150 and "\n" not in str(err)
    assert ConfigValueError.show(10**5000) == f"<{(10**5000).bit_length()}-bit integer>"


def test_module_does_not_import_torch():
    code = "import sys, zoo_core.validation; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
