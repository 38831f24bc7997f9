"""The topology as an SVG graph, rendered on the server from a platform's TopologyReport.

No JavaScript library and no build step: the page inserts this SVG as it is, and it also
opens on its own (GET /dashboard/graph.svg). Tiers are drawn top to bottom the way data
flows up: national services hang off NGSP; an LGSP sits below NGSP with the province's own
services below it; on NGSP the provincial platforms sit below it. Every node is coloured by
its last health check: green healthy, red down, grey not checked yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from contracts.platform import PlatformStatus, ServiceStatus, TopologyReport
from contracts.topology import Tier

COLUMNS = 9  # services per row; more wrap onto the next row
SERVICE_W, SERVICE_H = 170, 46
PLATFORM_W, PLATFORM_H = 300, 54
GAP_X, ROW_GAP, TIER_GAP, MARGIN = 14, 18, 64, 20
LEGEND_H = 36

# (fill, stroke) per health: the same palette as the page's tables.
COLOURS = {
    "healthy": ("#e6f4ea", "#1e8e3e"),
    "down": ("#fce8e6", "#d93025"),
    "unknown": ("#f1f3f4", "#80868b"),
}
LEGEND = (("healthy", "healthy"), ("down", "down"), ("unknown", "not checked yet"))


def health_class(healthy: bool | None) -> str:
    return "unknown" if healthy is None else "healthy" if healthy else "down"


@dataclass
class _Node:
    kind: str  # "platform" or "service"
    label: str
    sub: str
    health: str
    attrs: dict[str, str]
    w: int
    h: int
    x: float = 0.0
    y: float = 0.0

    @property
    def top(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y)

    @property
    def bottom(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h)


def _service(s: ServiceStatus) -> _Node:
    return _Node(
        "service",
        f"{s.code} {s.version}",
        s.title,
        health_class(s.healthy),
        {"data-code": s.code, "data-version": s.version, "data-tier": s.tier.value},
        SERVICE_W,
        SERVICE_H,
    )


def _platform(p: PlatformStatus, w: int = PLATFORM_W, h: int = PLATFORM_H) -> _Node:
    return _Node(
        "platform",
        p.name.upper() if p.tier is Tier.NATIONAL else p.name,
        p.title,
        health_class(p.healthy),
        {"data-platform": p.name},
        w,
        h,
    )


def _self(report: TopologyReport) -> _Node:
    """The platform serving the page: healthy by definition, it is answering."""
    status = PlatformStatus(
        name=report.platform,
        title=report.title,
        tier=report.tier,
        agency=report.agency,
        healthy=True,
    )
    node = _platform(status)
    node.attrs["data-self"] = "true"
    return node


def _rows(nodes: list[_Node]) -> list[list[_Node]]:
    return [nodes[i : i + COLUMNS] for i in range(0, len(nodes), COLUMNS)] or []


class _Layout:
    """Stacks rows top to bottom, each centred; remembers edges (child, parent)."""

    def __init__(self) -> None:
        self.rows: list[list[_Node]] = []
        self.edges: list[tuple[_Node, _Node]] = []
        # Groups too big for one row: framed, with one edge from the frame to the parent.
        self.frames: list[tuple[list[_Node], _Node]] = []

    def add(self, nodes: list[_Node]) -> None:
        self.rows.extend(_rows(nodes))

    def link(self, children: list[_Node], parent: _Node) -> None:
        if len(children) <= COLUMNS:
            self.edges.extend((child, parent) for child in children)
        else:  # edges to every node of several rows would cross the rows nearer the parent
            self.frames.append((children, parent))

    def place(self) -> tuple[float, float]:
        width = max(
            (sum(n.w for n in row) + GAP_X * (len(row) - 1) for row in self.rows), default=0
        )
        width += 2 * MARGIN
        y = float(MARGIN)
        previous_kind: str | None = None
        for row in self.rows:
            kind = row[0].kind
            if previous_kind is not None:
                y += ROW_GAP if kind == previous_kind == "service" else TIER_GAP
            row_width = sum(n.w for n in row) + GAP_X * (len(row) - 1)
            x = (width - row_width) / 2
            for node in row:
                node.x, node.y = x, y
                x += node.w + GAP_X
            y += max(n.h for n in row)
            previous_kind = kind
        return width, y + MARGIN + LEGEND_H


def _layout(report: TopologyReport) -> _Layout:
    layout = _Layout()
    here = _self(report)
    national = [_service(s) for s in report.national.services]
    if report.tier is Tier.NATIONAL:
        provinces = [_platform(p, SERVICE_W + 50, SERVICE_H) for p in _downstream(report)]
        layout.add(national)
        layout.add([here])
        layout.add(provinces)
        layout.link(national, here)
        layout.link(provinces, here)
        return layout
    # Provincial: national services reach the province through NGSP (when it has one).
    hub = _platform(report.upstream) if report.upstream else here
    intra = [_service(s) for s in report.intra.services] if report.intra else []
    layout.add(national)
    if hub is not here:
        layout.add([hub])
        layout.link([here], hub)
    layout.add([here])
    layout.add(intra)
    layout.link(national, hub)
    layout.link(intra, here)
    return layout


def _downstream(report: TopologyReport) -> list[PlatformStatus]:
    return report.downstream.platforms if report.downstream else []


def _fmt(value: float) -> str:
    return f"{value:g}"


def _edge(child: _Node, parent: _Node) -> str:
    # Children above their parent connect bottom-to-top, those below top-to-bottom.
    (x1, y1), (x2, y2) = (
        (child.bottom, parent.top) if child.y < parent.y else (child.top, parent.bottom)
    )
    stroke = COLOURS[child.health][1]
    dash = ' stroke-dasharray="5 4"' if child.health != "healthy" else ""
    return (
        f'<line class="edge {child.health}" x1="{_fmt(x1)}" y1="{_fmt(y1)}" '
        f'x2="{_fmt(x2)}" y2="{_fmt(y2)}" stroke="{stroke}" stroke-width="1.5"{dash}/>'
    )


def _frame(children: list[_Node], parent: _Node) -> str:
    pad = 8
    left = min(n.x for n in children) - pad
    top = min(n.y for n in children) - pad
    right = max(n.x + n.w for n in children) + pad
    bottom = max(n.y + n.h for n in children) + pad
    healths = {n.health for n in children}
    worst = next(h for h in ("down", "unknown", "healthy") if h in healths)
    box = _Node("frame", "", "", worst, {}, round(right - left), round(bottom - top), left, top)
    return (
        f'<rect class="group" x="{_fmt(left)}" y="{_fmt(top)}" width="{_fmt(right - left)}" '
        f'height="{_fmt(bottom - top)}" rx="10" fill="none" stroke="#dadce0"/>' + _edge(box, parent)
    )


def _clip(text: str, width: int, char_px: float) -> str:
    room = max(4, int((width - 12) / char_px))
    return text if len(text) <= room else text[: room - 1].rstrip() + "…"


def _node(node: _Node) -> str:
    fill, stroke = COLOURS[node.health]
    attrs = "".join(f" {name}={quoteattr(value)}" for name, value in node.attrs.items())
    cx = node.x + node.w / 2
    big = node.kind == "platform" and node.h == PLATFORM_H
    label_size, sub_size = (15, 12) if big else (11.5, 10.5)
    tip = f"{node.label} — {node.sub} ({node.health})"
    return (
        f'<g class="node {node.kind} {node.health}" data-health="{node.health}"{attrs}>'
        f"<title>{escape(tip)}</title>"
        f'<rect x="{_fmt(node.x)}" y="{_fmt(node.y)}" width="{node.w}" height="{node.h}" '
        f'rx="8" fill="{fill}" stroke="{stroke}" stroke-width="{2 if big else 1.5}"/>'
        f'<text x="{_fmt(cx)}" y="{_fmt(node.y + node.h * 0.42)}" text-anchor="middle" '
        f'font-size="{label_size}" font-weight="600" fill="#202124">'
        f"{escape(_clip(node.label, node.w, label_size * 0.62))}</text>"
        f'<text x="{_fmt(cx)}" y="{_fmt(node.y + node.h * 0.78)}" text-anchor="middle" '
        f'font-size="{sub_size}" fill="#3c4043">'
        f"{escape(_clip(node.sub, node.w, sub_size * 0.55))}</text>"
        "</g>"
    )


def _legend(y: float) -> str:
    parts, x = [], float(MARGIN)
    for health, text in LEGEND:
        fill, stroke = COLOURS[health]
        parts.append(
            f'<rect x="{_fmt(x)}" y="{_fmt(y)}" width="14" height="14" rx="3" '
            f'fill="{fill}" stroke="{stroke}"/>'
            f'<text x="{_fmt(x + 20)}" y="{_fmt(y + 11.5)}" font-size="12" fill="#3c4043">'
            f"{escape(text)}</text>"
        )
        x += 40 + 7 * len(text)
    return '<g class="legend">' + "".join(parts) + "</g>"


def render_graph(report: TopologyReport) -> str:
    layout = _layout(report)
    width, height = layout.place()
    nodes = [node for row in layout.rows for node in row]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="topology" '
        f'viewBox="0 0 {_fmt(width)} {_fmt(height)}" width="{_fmt(width)}" '
        f'height="{_fmt(height)}" role="img" font-family="system-ui, sans-serif">'
        f"<title>{escape(report.summary)}</title>"
        + "".join(_edge(child, parent) for child, parent in layout.edges)
        + "".join(_frame(children, parent) for children, parent in layout.frames)
        + "".join(_node(node) for node in nodes)
        + _legend(height - MARGIN - LEGEND_H + 16)
        + "</svg>"
    )
