"""The inspector as an ipywidgets app (``notebooks/06_inspector.ipynb``, served by ``python -m piltools inspect``).

Widgets: attribute filter, sort order, image selector (the rows of the filtered, sorted table:
choosing one shows that image), joint (heatmaps, "by joint" sorting), kernel donor (counterfactual)
and the attribute that colours the kernel space. Every callback only calls
:mod:`piltools.inspection.analysis` / :mod:`.figures`; what it computed last is kept on the app
(:attr:`InspectorApp.shown`, :attr:`InspectorApp.summary`, ...) for tests.
"""
from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
import pandas as pd
from IPython.display import display
from torch import nn

from piltools.inspection import analysis as A
from piltools.inspection import figures as F
from piltools.inspection.data import Inspection

#: Rows of the image table shown above the selector.
TABLE_ROWS = 10
#: CSS classes the browser test looks for (each dropdown also has ``pil-<name>``: pil-sort, pil-image, ...).
SUMMARY_CLASS = "pil-summary"
JOINTS_CLASS = "pil-joints"


class InspectorApp:
    """Widgets over one :class:`Inspection`.

    Args:
        inspection: the cached per-image arrays of a baseline / PIL pair.
        model: the PIL model (for counterfactual kernels); None hides the counterfactual.

    Attributes:
        widget: the whole app, top to bottom (``display(app.widget)``).
    """

    def __init__(self, *, inspection: Inspection, model: nn.Module | None = None) -> None:
        self.inspection = inspection
        self.model = model
        self.table = A.corrections(inspection)
        self.space = A.kernel_space(inspection)
        self.rows: pd.DataFrame = self.table
        self.shown: str | None = None
        self.summary = ""
        self.counterfactual: A.Counterfactual | None = None
        names = list(inspection.names)
        base_pck, pil_pck = inspection.pck()
        self.header = W.HTML(
            f"<b>baseline</b> {html.escape(inspection.baseline_label)} &nbsp; <b>PIL</b> "
            f"{html.escape(inspection.pil_label)}<br>{len(inspection)} val images; PCKh@0.5 baseline "
            f"{base_pck:.1f}, PIL {pil_pck:.1f}; PIL fixed {int(inspection.fixed.sum())} and broke "
            f"{int(inspection.broke.sum())} joints")
        self.filter = W.Dropdown(options=list(A.attribute_filters(inspection)), value="all", description="filter")
        self.sort = W.Dropdown(options=A.sort_orders(inspection), value=A.MOST_IMPROVED, description="sort")
        self.image = W.Dropdown(options=[], description="image", layout=W.Layout(width="460px"))
        self.joint = W.Dropdown(options=list(inspection.joint_names), value=inspection.joint_names[0],
                                description="joint")
        self.donor = W.Dropdown(options=names, value=names[min(1, len(names) - 1)], description="kernels of",
                                layout=W.Layout(width="360px"))
        colour_options = ["correction"] + ([] if inspection.attributes is None else list(inspection.attributes.columns))
        self.colour_by = W.Dropdown(options=colour_options, value="view" if "view" in colour_options else "correction",
                                    description="colour by")
        for name in ("filter", "sort", "image", "joint", "donor", "colour_by"):  # pil-sort, ...: for browser tests
            getattr(self, name).add_class(f"pil-{name.replace('_', '-')}")
        self.table_html = W.HTML()
        self.summary_html = W.HTML()
        self.summary_html.add_class(SUMMARY_CLASS)
        self.joints_image = W.Image(format="png")
        self.joints_image.add_class(JOINTS_CLASS)
        self.joint_table_html = W.HTML()
        self.parsing_out = W.Output()
        self.kernels_out = W.Output()
        self.space_out = W.Output()
        self.counterfactual_html = W.HTML()
        self.counterfactual_image = W.Image(format="png")
        for name in ("parsing_out", "kernels_out", "space_out", "counterfactual_image"):  # pil-parsing-out, ...
            getattr(self, name).add_class(f"pil-{name.replace('_', '-')}")
        self.filter.observe(lambda _: self.refresh_rows(), names="value")
        self.sort.observe(lambda _: self.refresh_rows(), names="value")
        self.image.observe(lambda change: self.show(change["new"]), names="value")
        self.joint.observe(lambda _: self.show_kernels(), names="value")
        self.donor.observe(lambda _: self.show_counterfactual(), names="value")
        self.colour_by.observe(lambda _: self.show_space(), names="value")
        self._containers: list[W.Widget] = []
        self.widget = self._layout()
        self.refresh_rows()

    # --- callbacks -----------------------------------------------------------------------------
    def refresh_rows(self) -> None:
        """Re-filter and re-sort the table; select its first row (which shows that image)."""
        rows = A.filter_table(self.inspection, self.table, self.filter.value)
        self.rows = A.sort_table(self.inspection, rows, self.sort.value)
        shown = self.rows.head(TABLE_ROWS).round(2)
        self.table_html.value = (f"<div>{len(self.rows)} of {len(self.table)} images ({html.escape(self.filter.value)}"
                                 f", {html.escape(self.sort.value)})</div>" + shown.to_html(classes="pil-table"))
        options = [(f"{n}  (fixed {r.fixed}, broke {r.broke})", n) for n, r in self.rows.iterrows()]
        first = options[0][1] if options else None
        self.image.options = options  # ipywidgets selects the first option (or None) and fires self.show
        if self.image.value != first:
            self.image.value = first
        elif first is not None and self.shown != first:
            self.show(first)

    def show(self, name: str | None) -> None:
        """Show image ``name``: joints, summary, per-joint verdicts, parsing, kernels, kernel space, counterfactual."""
        if name is None:
            self.shown, self.summary = None, "no image passes this filter"
            self.summary_html.value = f"<b>{self.summary}</b>"
            return
        self.shown = name
        self.summary = A.correction_summary(self.inspection, name)
        self.summary_html.value = f"<b>{html.escape(self.summary)}</b>"
        self.joints_image.value = F.png_bytes(F.joints_panel(self.inspection, name))
        verdicts = A.joint_table(self.inspection, name).round(2)
        self.joint_table_html.value = verdicts.to_html(index=False, classes="pil-joint-table")
        self._figure(self.parsing_out, F.parsing_figure(self.inspection, name))
        self.show_kernels()
        self.show_space()
        self.show_counterfactual()

    def show_kernels(self) -> None:
        """Kernels, |F^a| and the chosen joint's heatmaps of the shown image."""
        if self.shown is not None:
            self._figure(self.kernels_out, F.kernels_figure(self.inspection, self.shown, self.joint.value))
        if self.sort.value.startswith(A.JOINT_ORDER_PREFIX) and self.sort.value != A.JOINT_ORDER_PREFIX + self.joint.value:
            self.sort.value = A.JOINT_ORDER_PREFIX + self.joint.value

    def show_space(self) -> None:
        """Every image's kernels in 2-D, coloured by the chosen attribute; the shown image circled."""
        if self.colour_by.value == "correction":
            net = self.table["net"].to_numpy()
            colours = np.where(net > 0, "PIL net better", np.where(net < 0, "PIL net worse", "no net change"))
        else:
            colours = self.inspection.attributes[self.colour_by.value].to_numpy()
        at = None if self.shown is None else self.inspection.index_of(self.shown)
        self._figure(self.space_out, F.kernel_space_figure(self.space, colours, self.colour_by.value, at))

    def show_counterfactual(self) -> None:
        """The shown image predicted with the donor's kernels."""
        if self.model is None or self.shown is None:
            self.counterfactual_html.value = "(counterfactual needs the PIL model)" if self.model is None else ""
            return
        self.counterfactual = A.counterfactual(self.inspection, self.model, self.shown, self.donor.value)
        self.counterfactual_html.value = html.escape(self.counterfactual.summary())
        self.counterfactual_image.value = F.png_bytes(F.counterfactual_panel(self.inspection, self.counterfactual))

    @staticmethod
    def _figure(out: W.Output, fig) -> None:
        import matplotlib.pyplot as plt

        with out:
            out.clear_output(wait=True)
            display(fig)
        plt.close(fig)

    def close(self) -> None:
        """Close every widget of the app (their state leaves the kernel and the saved notebook)."""
        for value in vars(self).values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, W.Widget):
                    item.close()

    # --- layout --------------------------------------------------------------------------------
    def _layout(self) -> W.VBox:
        def section(title: str) -> W.HTML:
            heading = W.HTML(f"<h3>{title}</h3>")
            self._containers.append(heading)
            return heading

        filters = W.HBox([self.filter, self.sort])
        self._containers.append(filters)
        return W.VBox([
            self.header,
            section("Across images"), filters, self.table_html, self.image,
            section("Corrected joints (ground truth rings; left green, right magenta, centre yellow; "
                    "white line: PIL fixed, red: PIL broke)"),
            self.summary_html, self.joints_image, self.joint_table_html,
            section("Parsing"), self.parsing_out,
            section("Dynamic kernels"), self.joint, self.kernels_out,
            section("Kernel space"), self.colour_by, self.space_out,
            section("Counterfactual: this image with another image's kernels"), self.donor,
            self.counterfactual_html, self.counterfactual_image,
        ])
