"""The course: what drives the notebooks, not needed to use the library.

``notebooks`` (the papermill pipeline and ``Run``), ``outputs`` (committed outputs and their
fingerprint), ``widgets``, ``validation_panels`` and ``interaction_panels`` (slider callbacks
and panels), ``lines`` (the readings as printed lines), ``report`` (the ODT report of the
command line), ``teaching`` (notebook 01's helpers) and ``exercises`` (checkers, reference
implementations, cells). The only layer that imports ipywidgets or papermill.

May import every other layer.
"""
