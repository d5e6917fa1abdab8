"""Training: the hyper-parameters, the recipes, the loop, resume files and checkpoints.

``config`` (``TrainConfig``, the record a checkpoint keeps), ``recipes`` (one recipe per
dataset, every value with its source), ``kinds`` (the model kinds the course trains, and the
checkpoint's record of a model), ``train`` (the loop), ``resume`` and ``checkpoint`` (files
that survive an interrupt; ``train_or_load``), ``storage`` (what both file kinds share).
Inside, imports point one way: ``storage``, ``config`` ← ``resume`` ← ``train`` ←
``checkpoint``.

May import: ``analysis``, ``core``, ``data``, ``files``, torch (and tqdm for progress bars).
"""
