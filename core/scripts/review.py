"""The review page: one self-contained HTML file listing every AI element a script holds.

For a supervisor: each element in script order with a few thumbnails (through the take's
OCIO display and view, over a dark grey so alpha shows), its frame range, model and weights
hash, prompt, seed, matte method, take folder and whether the take is complete and
unchanged. Thumbnails are embedded as data URIs and a content security policy forbids any
fetch, so the page reads the same with no network. Every text is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import json
import os
import time
from pathlib import Path

from .. import __version__
from ..errors import GenvfxError, InvalidInput
from ..media.exr import ATTRIBUTE_PREFIX, read_attributes, read_pixels
from ..media.thumbnail import ViewTransform, default_view, thumbnail_png
from .audit import Audit, Generated, frame_file

THUMBNAILS = 3
STATUS_TEXT = {
    "complete": "take complete, frames unchanged",
    "changed": "FRAMES CHANGED after the take was made",
    "incomplete": "TAKE NOT COMPLETE",
    "gone": "TAKE GONE",
    "unreachable": "TAKE UNREACHABLE",
    "no record": "no take record found",
    "no take yet": "no take generated yet",
}
_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1d1d1f; background: #f4f4f2; }
h1 { font-size: 22px; margin: 0 0 4px; }
.meta { color: #555; margin-bottom: 18px; }
.summary { font-size: 16px; margin: 12px 0 20px; }
.element { background: #fff; border: 1px solid #ccc; border-left: 8px solid #2a7; padding: 12px
  16px; margin: 0 0 16px; border-radius: 4px; }
.element.bad { border-left-color: #c33; }
.element h2 { font-size: 17px; margin: 0 0 8px; font-family: ui-monospace, monospace; }
.status { display: inline-block; padding: 2px 8px; border-radius: 3px; background: #dfd;
  font-weight: 600; }
.bad .status { background: #fdd; color: #900; }
table { border-collapse: collapse; margin: 8px 0; }
th { text-align: left; color: #555; font-weight: normal; padding: 2px 14px 2px 0;
  vertical-align: top; white-space: nowrap; }
td { padding: 2px 0; font-family: ui-monospace, monospace; word-break: break-all; }
.thumbs { display: flex; gap: 8px; flex-wrap: wrap; }
figure { margin: 0; }
figure img { display: block; width: 240px; height: auto; border: 1px solid #999; background: #111; }
figcaption { font-size: 12px; color: #555; }
ul.problems { color: #900; margin: 6px 0; }
"""


def write_review(audit: Audit, out: Path) -> None:
    """Write the page to `out` (through a temporary file, then renamed into place)."""
    text = review_html(audit)
    path = Path(out)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InvalidInput(f"html: cannot write {path}: {exc.strerror or exc}") from None


def review_html(audit: Audit) -> str:
    count = len(audit.generated)
    bad = sum(1 for g in audit.generated if _is_bad(g))
    summary = (
        f"{count} AI-generated element(s) in {audit.reads_checked} Read(s) and the script's "
        f"nodes; {bad} with a problem."
        if count
        else f"No AI-generated elements found in {audit.reads_checked} Read(s)."
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">",
        f"<title>genvfx review: {_e(Path(audit.script).name)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>AI-generated elements in {_e(Path(audit.script).name)}</h1>",
        f'<div class="meta">{_e(audit.script)} &middot; checked {_e(time.strftime("%Y-%m-%d %H:%M"))}'
        f" &middot; genvfx {_e(__version__)}</div>",
        f'<div class="summary" id="summary">{_e(summary)}</div>',
    ]
    for number, element in enumerate(audit.generated, 1):
        parts.append(_element_html(number, element))
    if audit.unresolved:
        parts.append("<h2>Reads not checked (file is a TCL expression)</h2><ul>")
        parts += [f"<li>{_e(name)}</li>" for name in audit.unresolved]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _is_bad(element: Generated) -> bool:
    return bool(element.problems) or element.take_status not in ("complete",)


def _element_html(number: int, g: Generated) -> str:
    kind = "GenerateElement node" if g.kind == "node" else "Read of generated frames"
    frames = f"{g.first}-{g.last}" if g.first is not None and g.last is not None else "-"
    if g.frames_expected:
        frames += f" ({g.frames_found}/{g.frames_expected} frames on disk)"
    rows = [
        ("kind", f"{kind} ({g.node_class})"),
        ("frames", frames),
        ("model", g.model),
        ("weights hash", g.weights_hash),
        ("prompt", g.prompt),
        ("seed", "" if g.seed is None else str(g.seed)),
        ("mode", g.mode),
        ("matte", g.matte),
        ("take", g.take),
        ("take folder", g.take_folder),
        ("file", g.path),
    ]
    table = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows if v)
    problems = "".join(f"<li>{_e(p)}</li>" for p in g.problems)
    status = STATUS_TEXT.get(g.take_status, g.take_status)
    css = "element bad" if _is_bad(g) else "element"
    return (
        f'<section class="{css}" id="element-{number}">'
        f"<h2>{number}. {_e(g.node)}</h2>"
        f'<span class="status">{_e(status)}</span>'
        + (f'<ul class="problems">{problems}</ul>' if problems else "")
        + f"<table>{table}</table>"
        + _thumbnails(g)
        + "</section>"
    )


def _thumbnails(g: Generated) -> str:
    paths = _frame_paths(g)
    if not paths:
        return '<div class="thumbs"><em>no frames on disk to show</em></div>'
    view = _view_for(g, paths[0])
    if view is None:
        return '<div class="thumbs"><em>no view transform for this take\'s colour space</em></div>'
    figures = []
    for frame, path in paths:
        try:
            png = thumbnail_png(read_pixels(path), view)
        except GenvfxError:
            figures.append(f"<figure><figcaption>frame {frame}: unreadable</figcaption></figure>")
            continue
        data = base64.b64encode(png).decode("ascii")
        figures.append(
            f'<figure><img alt="frame {frame}" src="data:image/png;base64,{data}">'
            f"<figcaption>frame {frame}</figcaption></figure>"
        )
    caption = f'<div class="meta">view: {_e(view.label)}</div>'
    return f'<div class="thumbs">{"".join(figures)}</div>{caption}'


def _frame_paths(g: Generated) -> list[tuple[int, Path]]:
    """Up to three frames on disk (first, middle, last) to show."""
    record = g.state.record if g.state is not None else None
    if g.kind == "read" and g.path and g.first is not None and g.last is not None:
        candidates = [(f, Path(frame_file(g.path, f))) for f in range(g.first, g.last + 1)]
    elif record is not None:
        take = record.take
        candidates = [(f, take.frame_path(f, record.last)) for f in record.frame_range]
    else:
        return []
    on_disk = [(f, p) for f, p in candidates if p.is_file()]
    if len(on_disk) <= THUMBNAILS:
        return on_disk
    return [on_disk[0], on_disk[len(on_disk) // 2], on_disk[-1]]


def _view_for(g: Generated, frame: tuple[int, Path]) -> ViewTransform | None:
    """The take's working space and OCIO config, from its record or the frame's header."""
    record = g.state.record if g.state is not None else None
    space = str(record.colour.get("working_space", "")) if record else ""
    config = str(record.colour.get("ocio_config", "")) if record else ""
    if not space:
        try:
            header = read_attributes(frame[1])
        except GenvfxError:
            header = {}
        space = str(header.get(ATTRIBUTE_PREFIX + "working_space", ""))
        try:
            job = json.loads(str(header.get(ATTRIBUTE_PREFIX + "job", "{}")))
        except ValueError:
            job = {}
        config = str(job.get("ocio_config") or "") if isinstance(job, dict) else ""
    if not space:
        return None
    for candidate in (config or None, None):
        try:
            view = default_view(candidate, space)
            view_check(view)
            return view
        except Exception:  # an unloadable config or an OCIO error: try the built-in config
            continue
    return None


def view_check(view: ViewTransform) -> None:
    """Raise when the config has no such working space (OCIO would fail on every frame)."""
    from ..media.colour import load_config

    if load_config(view.config).getColorSpace(view.working_space) is None:
        raise InvalidInput(f"no colour space {view.working_space} in {view.config}")


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)
