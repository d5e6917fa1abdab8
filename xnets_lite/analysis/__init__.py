"""Readings of a network: what its weights (and, where said, the data) show.

``interpret`` (class eigenvectors, the compositional tree, energy shares, accuracy vs rank),
``degrees`` (each logit split exactly by degree), ``interactions`` (the signed ``Q_c``),
``input_metric`` (ODT in a data metric), ``usage`` (constant / linear / product terms on
data), ``validation`` (causal checks against random, template, class-mean and local
controls) and ``brute_force`` (exponential references for tiny networks).

Returns numbers and tensors: no printing, no figures. May import: ``core``, ``data``,
``files``, torch, numpy, scipy.
"""
