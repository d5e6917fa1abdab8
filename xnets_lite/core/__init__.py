"""The core: χ-nets and their exact form, torch only.

``model`` (the trainable ``XNet`` and the ``MLP`` baseline), ``network`` (the exact tensor-
network form of a bilinear model: ``to_network``, ``from_factors``, ``symmetrise``), ``odt``
(the Grams, orthogonalise, diagonalise, truncate, local SVD), ``compress`` (a truncated network
as a plain module) and ``evaluation`` (logits, predictions and accuracy on any data).

May import: torch, numpy, ``xnets_lite.files``. Never: data, analysis, training, viz, course,
matplotlib, ipywidgets or papermill (import-linter's contracts in ``pyproject.toml``).
"""
