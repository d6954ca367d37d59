"""The PIL inspector: per image, what the parsing-induced learner changed relative to its baseline.

* :mod:`.data`     run both models over the val split once, cache the arrays (:class:`Inspection`)
* :mod:`.analysis` corrections per image and joint, sorting / filtering, kernel space, counterfactual kernels
* :mod:`.figures`  the panels (joints, parsing, kernels, heatmaps, kernel space)
* :mod:`.app`      the ipywidgets app of ``notebooks/06_inspector.ipynb``
* :mod:`.serve`    that notebook served as an app by Voila (``python -m piltools inspect``)
* :mod:`.people`   multi-person runs image by image (notebook 05): grouped people recomputed from a checkpoint,
  per-image mAP, the rule picking the images shown, the figure
"""
