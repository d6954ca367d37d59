"""Writes notebooks/06_inspector.ipynb (sources only; outputs come from running it).

Kept as a script so the notebook's cells are reviewable as plain text; run
``python tools/make_notebook_06.py``, execute it with
``PILTOOLS_SCALE=cpu jupyter nbconvert --to notebook --execute --inplace notebooks/06_inspector.ipynb``
and drop the saved widget state with ``python tools/make_notebook_06.py --strip-widget-state`` (the
app's images would weigh over a megabyte, and JupyterLab shows widgets only after a re-run anyway).
"""
import sys

import nbformat as nbf

PATH = "notebooks/06_inspector.ipynb"
if sys.argv[1:] == ["--strip-widget-state"]:
    executed = nbf.read(PATH, as_version=4)
    executed.metadata.pop("widgets", None)
    nbf.write(executed, PATH)
    print(f"dropped the widget state of {PATH}")
    sys.exit(0)

md = nbf.v4.new_markdown_cell
code = nbf.v4.new_code_cell

cells = [
    md("""# 06 · The PIL inspector: what the parsing-induced learner changes, image by image

**Why.** The paper's claim (Nie et al., CVPR 2018, Sec. 3 and Tables 1-2) is that PIL corrects pose
estimates *using parsing*: the parsing branch predicts convolution kernels per image, and the
adaptive convolution with those kernels refines the pose features. The tables only show the average
gain. This notebook is the per-image view: for every validation image, which joints the PIL model
**fixed** (baseline wrong, PIL right at PCKh@0.5) or **broke** (the reverse), what its parsing branch
saw, which kernels it predicted and where the adaptive feature `F^a` is strong; and, as a
counterfactual, how an image's joints move when it is given *another* image's kernels.

**What.** A pair of trained runs on the same data: by default the cheapest Table 2 pair,
`table2/hg-1s-1u` (baseline) and `table2/hg-1s-1u-pil`, at the scale in `PILTOOLS_SCALE` (`cpu` by
default; trained on first use). Everything is computed once per pair by `piltools.inspection` and
cached beside the PIL run (`inspect_<baseline run id>.npz`); this notebook only calls it. At `smoke`
scale (CI) the models are barely trained and the pictures meaningless. The same app is served by
`python -m piltools inspect` (Voila)."""),
    code("""# NBVAL_IGNORE_OUTPUT
import os

SCALE = os.environ.get("PILTOOLS_SCALE", "cpu")  # smoke (CI) | cpu (default) | paper
BASELINE = os.environ.get("PILTOOLS_INSPECT_BASELINE") or None  # run directory or experiment name; None: default pair
PIL = os.environ.get("PILTOOLS_INSPECT_PIL") or None
print(f"scale={SCALE}, baseline={BASELINE or 'default'}, PIL={PIL or 'default'}")""", metadata={"tags": ["parameters"]}),
    md("Train the pair if needed (progress bars), then load or compute the per-image arrays:"),
    code("""# NBVAL_IGNORE_OUTPUT
%matplotlib inline
import time

from piltools.inspection.data import inspect_pair

t0 = time.time()
pair = inspect_pair(scale=SCALE, baseline=BASELINE, pil=PIL)
inspection = pair.inspection
print(f"{len(inspection)} val images of {inspection.pil_label} vs {inspection.baseline_label} ready in {time.time() - t0:.1f} s")"""),
    md("""## The inspector

*Across images*: the table of val images, filtered by the synthetic generator's own attributes
(view, occluded and truncated joints, from the dataset's `val_attributes.csv`) and sorted by PIL's
correction; the image selector lists its rows, choosing one shows that image. *Corrected joints*:
ground truth (hollow rings), baseline and PIL, coloured by body side; per joint the verdict and the
distance change. *Parsing*: PIL's parsing map beside the ground truth with this image's mIoU.
*Dynamic kernels*: the image's kernels ordered by norm, `|F^a|` over the image, and the chosen joint's
heatmaps. *Kernel space*: a PCA of every image's kernels. *Counterfactual*: the image with the
kernels of another image."""),
    code("""# NBVAL_IGNORE_OUTPUT
from IPython.display import display

from piltools.inspection.app import InspectorApp

app = InspectorApp(inspection=inspection, model=pair.model)
display(app.widget)"""),
    md("The five most improved and the five most harmed images, as the inspector computes them:"),
    code("""# NBVAL_IGNORE_OUTPUT
from piltools.inspection import analysis

columns = ["fixed", "broke", "net", "mean_change", "pckh_base", "pckh_pil"]
print("most improved:")
display(analysis.top_images(inspection, analysis.MOST_IMPROVED)[columns].round(2))
print("most harmed:")
display(analysis.top_images(inspection, analysis.MOST_HARMED)[columns].round(2))"""),
    md("The widget callbacks, driven from the kernel on a second (undisplayed) app so that the one above keeps "
       "its state (the widgets' display messages vary, so only the assertions count here):"),
    code("""# NBVAL_IGNORE_OUTPUT
import numpy as np

check = InspectorApp(inspection=inspection, model=pair.model)
# sort: the shown image is the first row of the chosen order, and the summary is the library's
check.sort.value = analysis.MOST_HARMED
assert check.shown == analysis.top_images(inspection, analysis.MOST_HARMED, 1).index[0]
assert check.summary == analysis.correction_summary(inspection, check.shown)
# the image selector shows the chosen row
other = check.rows.index[-1]
check.image.value = other
assert check.shown == other and check.summary == analysis.correction_summary(inspection, other)
# filter: every listed row passes it
if inspection.attributes is not None:
    check.filter.value = "view: front"
    assert (check.rows.view == "front").all()
    check.filter.value = "all"
# the joint sort follows the joint selector
check.sort.value = "by joint: l_wrist"
check.joint.value = "r_ankle"
assert check.sort.value == "by joint: r_ankle"
# counterfactual: the image's own kernels reproduce its joints
check.donor.value = check.shown
assert np.allclose(check.counterfactual.own, check.counterfactual.swapped)
check.close()
WIDGETS_CHECKED = True"""),
    md("Structural checks (compared by `pytest --nbval` at every scale):"),
    code("""import json

table = analysis.corrections(inspection)
n = len(inspection)
# the inspector's overall PCK is each run's evaluated PCK (same crops, flip test, head sizes)
evaluated = [json.loads((r.run_dir / "eval.json").read_text())["pck"] for r in (pair.baseline, pair.pil)]
assert np.allclose(inspection.pck(), evaluated), (inspection.pck(), evaluated)
assert table.shape[0] == n and (table.net == table.fixed - table.broke).all()
assert (inspection.fixed & inspection.broke).sum() == 0
space = analysis.kernel_space(inspection)
assert space.coords.shape == (n, 2) and 0 <= space.explained.sum() <= 1 + 1e-9
assert WIDGETS_CHECKED
print("structural checks passed:", list(table.columns[:8]))"""),
]

nb = nbf.v4.new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
nb.metadata["language_info"] = {"name": "python"}
nbf.write(nb, PATH)
print(f"wrote {PATH}")
