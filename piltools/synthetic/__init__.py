"""Procedural synthetic LIP / MPII / PASCAL-Person-Part datasets written in the real formats.

The real datasets cannot be downloaded everywhere, so piltools renders
articulated people (2.5-D kinematic skeletons with anatomical joint limits,
front/back/side views, self-occlusion in depth order, same-colour left/right
garments, cluttered textured backgrounds, distractor limbs, occluders,
truncation, blur, noise, lighting) and WRITES them in the real datasets'
layouts, so the real loaders (:mod:`piltools.datasets`) read them. This package
is a data source, not a loader. Modules:

* :mod:`.config`     difficulty knobs (:class:`SynthConfig`, :data:`DIFFICULTY`) and appearance styles
                     (:data:`STYLES`); numbers only, no rendering
* :mod:`.body`       proportions, pose sampling, forward kinematics
* :mod:`.appearance` garments, colours and surface materials
* :mod:`.render`     painter's-algorithm rasteriser, joint visibility, :func:`joint_part_ids`
* :mod:`.scene`      backgrounds, clutter, occluders, distractor limbs, photometric effects
* :mod:`.sample`     one sample as a pure function of (kind, seed, split, index, size, config)
* :mod:`.writers`    the on-disk formats and :func:`generate`
* :mod:`.attributes` per-person attributes (view, occluded / truncated joints) in a sidecar CSV
* :mod:`.ensure`     :func:`ensure_synthetic` (cached, atomic, versioned), :func:`ensure_attributes`
* :mod:`.gallery`    the gallery figure

Importing the package loads only :mod:`.config`, so that configuration checks
(``piltools.config``) can read :data:`DIFFICULTY` without loading the renderer
(OpenCV, PIL). The rendering names (:func:`generate`, :func:`ensure_synthetic`,
:func:`render_sample`, ...) are loaded from their modules on first access.

Command line: ``python -m piltools synth {lip,mpii,pascal,gallery} ...``.
"""
from __future__ import annotations

import importlib
from typing import Any

from piltools.synthetic.config import (
    DIFFICULTY,
    GENERATOR_VERSION,
    KINDS,
    STYLES,
    Style,
    SynthConfig,
    difficulty_config,
)

# name -> module that defines it; loaded on first attribute access (PEP 562)
_RENDERING_NAMES = {
    "ensure_synthetic": "piltools.synthetic.ensure",
    "read_manifest": "piltools.synthetic.ensure",
    "ensure_attributes": "piltools.synthetic.ensure",
    "read_attributes": "piltools.synthetic.attributes",
    "joint_part_ids": "piltools.synthetic.render",
    "Sample": "piltools.synthetic.sample",
    "SyntheticPerson": "piltools.synthetic.sample",
    "render_sample": "piltools.synthetic.sample",
    "generate": "piltools.synthetic.writers",
}

__all__ = [
    "DIFFICULTY", "GENERATOR_VERSION", "KINDS", "STYLES", "Sample", "Style", "SynthConfig", "SyntheticPerson",
    "difficulty_config", "ensure_attributes", "ensure_synthetic", "generate", "joint_part_ids", "read_attributes",
    "read_manifest", "render_sample",
]


def __getattr__(name: str) -> Any:
    """Load a rendering name from its module (see the module docstring)."""
    module = _RENDERING_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'piltools.synthetic' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_RENDERING_NAMES))
