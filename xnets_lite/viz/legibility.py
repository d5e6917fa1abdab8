"""How large a figure's text is on a student's screen: every notebook figure and panel image is
shown at most ``SHOWN_PX`` wide (JupyterLab's output area in a 1400 px window; wider images are
scaled down to it), so a label of ``s`` points in a figure ``W`` pixels wide is
``s · DPI / 72 · min(1, SHOWN_PX / W)`` pixels high there. ``smallest_text_px`` gives the
smallest of those over every visible text of a figure (titles, axis labels, tick labels, legend,
colour-bar labels), which the tests hold to ``MIN_TEXT_PX`` (issue 21, item 6)."""

from __future__ import annotations

#: The width (px) at which JupyterLab 4 shows an output image in a 1400 px wide window
#: (measured in Chromium with the file browser open: issue 21).
SHOWN_PX = 952
#: The smallest label height (px) a reader should have to read.
MIN_TEXT_PX = 10.0


def text_sizes_px(fig, dpi: int | None = None, shown_px: int = SHOWN_PX) -> list[tuple[float, str]]:
    """``[(height in px as shown, text)]`` for every visible, non-empty text of ``fig``."""
    from matplotlib.text import Text

    from xnets_lite.viz.plots import DPI, png_bytes

    dpi = DPI if dpi is None else dpi
    png_bytes(fig, dpi)  # lay the figure out as it is shown (tick labels exist after a draw)
    scale = min(1.0, shown_px / (fig.get_figwidth() * dpi))
    out = []
    for t in fig.findobj(Text):
        if not t.get_visible() or not t.get_text().strip():
            continue
        ax = t.axes
        if ax is not None and not ax.get_visible():
            continue
        ticks = [] if ax is None else [*ax.get_xticklabels(), *ax.get_yticklabels()]
        if ax is not None and not ax.axison and any(t is tick for tick in ticks):
            continue  # the tick labels of an axes drawn without axes are not drawn
        out.append((t.get_fontsize() * dpi / 72 * scale, t.get_text()))
    return out


def smallest_text_px(fig, dpi: int | None = None, shown_px: int = SHOWN_PX) -> tuple[float, str]:
    """The smallest text of ``fig`` as shown: ``(height in px, the text)``."""
    return min(text_sizes_px(fig, dpi, shown_px))
