"""A report as a list of blocks, written as Markdown or as one self-contained HTML page.

The report builds its content once (headings, paragraphs, lists, tables, figures) and renders it
twice: ``report.md`` links the PNG files beside it; ``report.html`` embeds them (base64), with a
small style sheet, so that the one file can be mailed or opened offline. Inline markup in text is
limited to ``code`` and **bold**.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Block:
    """One block: kind is "h1", "h2", "h3", "p", "ul", "table" or "figure"."""

    kind: str
    text: str = ""
    items: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    name: str = ""  # figure: file name without .png


class Document:
    """An ordered list of blocks with helpers to add them."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.blocks: list[Block] = [Block("h1", title)]

    def h2(self, text: str) -> None:
        """A section heading."""
        self.blocks.append(Block("h2", text))

    def h3(self, text: str) -> None:
        """A sub-section heading."""
        self.blocks.append(Block("h3", text))

    def p(self, text: str) -> None:
        """A paragraph."""
        self.blocks.append(Block("p", text))

    def ul(self, items: Sequence[str]) -> None:
        """A bulleted list (nothing when empty)."""
        if items:
            self.blocks.append(Block("ul", items=list(items)))

    def table(self, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        """A table of text cells."""
        self.blocks.append(Block("table", header=[str(h) for h in header],
                                 rows=[[str(c) for c in r] for r in rows]))

    def figure(self, name: str, heading: str, caption: str) -> None:
        """A figure (``name``.png beside the report) with its heading and caption."""
        self.blocks.append(Block("figure", text=caption, name=name, header=[heading]))

    # -------------------------------------------------------------------------- Markdown
    def markdown(self) -> str:
        """The document as Markdown (figures linked to the PNG files)."""
        out: list[str] = []
        for b in self.blocks:
            if b.kind in ("h1", "h2", "h3"):
                out += ["#" * int(b.kind[1]) + " " + b.text, ""]
            elif b.kind == "p":
                out += [b.text, ""]
            elif b.kind == "ul":
                out += [f"- {i}" for i in b.items] + [""]
            elif b.kind == "table":
                out += [_md_table(b.header, b.rows), ""]
            elif b.kind == "figure":
                out += [f"### {b.header[0]}", "", b.text, "", f"![{b.header[0]}]({b.name}.png)",
                        ""]
        return "\n".join(out)

    # -------------------------------------------------------------------------- HTML
    def html(self, folder: Path) -> str:
        """The document as one HTML page, figures read from ``folder`` and embedded."""
        body: list[str] = []
        for b in self.blocks:
            if b.kind in ("h1", "h2", "h3"):
                body.append(f"<{b.kind}>{_inline(b.text)}</{b.kind}>")
            elif b.kind == "p":
                body.append(f"<p>{_inline(b.text)}</p>")
            elif b.kind == "ul":
                body.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in b.items)
                            + "</ul>")
            elif b.kind == "table":
                head = "".join(f"<th>{_inline(h)}</th>" for h in b.header)
                rows = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>"
                               for r in b.rows)
                body.append(f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
                            f"<tbody>{rows}</tbody></table></div>")
            elif b.kind == "figure":
                png = folder / f"{b.name}.png"
                data = base64.b64encode(png.read_bytes()).decode("ascii")
                body.append(f'<figure id="{html.escape(b.name)}"><h3>{_inline(b.header[0])}</h3>'
                            f'<img alt="{html.escape(b.header[0])}" '
                            f'src="data:image/png;base64,{data}">'
                            f"<figcaption>{_inline(b.text)}</figcaption></figure>")
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{html.escape(self.title)}</title><style>{CSS}</style></head>"
                f"<body><main>\n" + "\n".join(body) + "\n</main></body></html>\n")


CSS = """
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
       system-ui, sans-serif; color: #1b1b1b; background: #fff; margin: 0; line-height: 1.5; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem 2rem 4rem; }
h1 { font-size: 1.7rem; border-bottom: 3px solid #b22222; padding-bottom: .3rem; }
h2 { font-size: 1.35rem; margin-top: 2.2rem; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.1rem; margin-top: 1.6rem; }
code { background: #f3f3f3; padding: 0 .25rem; border-radius: 3px; font-size: .92em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .88rem; }
th, td { border: 1px solid #d0d0d0; padding: .3rem .55rem; text-align: right;
         vertical-align: top; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
tbody tr:nth-child(even) { background: #fafafa; }
figure { margin: 1.5rem 0; page-break-inside: avoid; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e3e3; }
figcaption { font-size: .9rem; color: #444; margin-top: .4rem; }
@media print { main { max-width: none; padding: 0; } h2 { page-break-before: auto; } }
"""


def _inline(text: str) -> str:
    s = html.escape(text)
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def esc(s: object) -> str:
        return str(s).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(esc(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)
