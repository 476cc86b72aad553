"""Hypothesis strategies for hostile input: malformed jobs and worker request lines."""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import strategies as st

SCALE = int(os.environ.get("GENVFX_FUZZ_SCALE", "1"))


def examples(count: int) -> int:
    """`count` examples in CI; GENVFX_FUZZ_SCALE times as many in a longer developer run."""
    return count * SCALE


def valid_job(root: str) -> dict[str, Any]:
    return {
        "prompt": "a dust plume",
        "model": "builtin:tiny-ltx",
        "frames": "1001-1009",
        "format": "64x64",
        "steps": 2,
        "seed": 7,
        "output_root": root,
        "name": "element",
    }


surrogate_text = st.builds(
    lambda head, code, tail: f"{head}{chr(code)}{tail}",
    st.text(max_size=5),
    st.integers(0xD800, 0xDFFF),
    st.text(max_size=5),
)
huge_int = st.integers(min_value=10**15, max_value=10**6000) | st.integers(max_value=-(10**15))
digits = st.integers(15, 5000).map(lambda n: "9" * n)
nasty_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**7) - 5, 10**7 + 5),
    huge_int,
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    surrogate_text,
    digits,
    digits.map(lambda d: f"1-{d}"),
    digits.map(lambda d: f"{d}x1080"),
    st.sampled_from(["~nouser/x", "~", "", " ", "\x00", "1001-1100", "-5--1", "64x64", "t2v"]),
)
nasty_values = st.recursive(
    nasty_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
deep = st.integers(30, 200).map(lambda n: json.loads("[" * min(n, 120) + "]" * min(n, 120)))


@st.composite
def malformed_jobs(draw: st.DrawFn, root: str = "/tmp/genvfx-hostile") -> Any:
    """A job dict with some fields replaced, removed or added; sometimes not a dict at all."""
    if draw(st.integers(0, 19)) == 0:
        return draw(nasty_values)
    job: dict[str, Any] = valid_job(root)
    from genvfx.job import field_specs

    names = [*sorted(field_specs()), "schema", "bogus"]
    for name in draw(st.lists(st.sampled_from(names), min_size=1, max_size=4)):
        action = draw(st.integers(0, 9))
        if action == 0:
            job.pop(name, None)
        elif action == 1:
            job[name] = draw(deep)
        else:
            job[name] = draw(nasty_values)
    return job


def dump(value: Any) -> bytes:
    """JSON bytes of `value`, lone surrogates kept as raw (invalid UTF-8) bytes."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except ValueError:
        text = '{"id": 1, "op": "generate", "job": {"frames": ' + "9" * 5000 + "}}"
    return text.encode("utf-8", "surrogatepass")


def request_lines(root: str) -> st.SearchStrategy[bytes]:
    """Worker request lines: raw bytes, JSON of any shape, requests with hostile fields."""
    ops = st.sampled_from(["hello", "generate", "cancel", "bogus", None])
    ids = st.one_of(nasty_scalars, nasty_values)
    requests = st.fixed_dictionaries(
        {"op": ops, "id": ids},
        optional={
            "job": malformed_jobs(root),
            "protocol": nasty_scalars,
            "script_colour": nasty_values,
        },
    ).map(dump)
    return st.one_of(
        st.binary(max_size=200),
        nasty_values.map(dump),
        st.integers(1000, 200_000).map(lambda n: b"[" * n + b"]" * (n % 3)),
        requests,
        requests.map(lambda line: line.replace(b"\\u", b"\\ud800\\u")),
    )
