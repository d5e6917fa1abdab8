"""Every figure: the only layer that imports matplotlib.

``plots`` (the figures the paper's are compared with, and the PNG encoder every panel uses),
``spectrum_plots`` (a spectrum against the kept basis), ``interaction_figures`` (``Q_c``),
``validation_figures`` (notebook 05) and ``teaching_figures`` (diagrams, learning curves,
class spectra). Each function returns a ``matplotlib.figure.Figure`` and keeps no pyplot
state; the measurements it draws come from ``analysis``.

May import: ``training``, ``analysis``, ``core``, ``data``, ``files``, matplotlib.
"""
