"""The paper's direct χ-net on full MNIST: with the scalar running RMS (x-vla's reading of the
paper's normalisation) or without any norm. Same recipe (the course's ``mnist`` recipe, seed 0);
prints test accuracy, the top class eigenvector's share of its class's energy, the ODT
effective dimensions and the accuracy with every wire cut to 15 directions.

    .venv/bin/python benchmarks/direct_norm.py     # reuses checkpoints/mnist/ from make reproduce

Results on MNIST are MNIST results, not SVHN. benchmarks/recipe_sweep.md records a run.
"""

import time

import torch

from xnets_lite.analysis.interpret import class_eigenvectors
from xnets_lite.core.evaluation import accuracy
from xnets_lite.core.model import XNet
from xnets_lite.core.odt import odt
from xnets_lite.course.notebooks import Run
from xnets_lite.training.checkpoint import train_or_load

torch.set_num_threads(1)
run = Run("mnist", checkpoints="checkpoints", figures="build/direct-norm")
train, test = run.data()
for norm in ("batch-rms", None):
    start = time.perf_counter()
    if norm:  # the course's direct χ-net (notebook 01's checkpoint)
        model = run.model("xnet-direct", progress=False)[0]
    else:
        model, _ = train_or_load(
            "build/direct-norm/xnet-direct-nonorm.pt",
            lambda: XNet(
                train.d_input,
                run.width,
                n_classes=10,
                n_layers=run.n_layers,
                block="direct",
                norm=None,
            ),
            train,
            test,
            seed=run.seed,
            progress=False,
            **run.recipe.train_kwargs,
        )
    dec = odt(model)
    share = class_eigenvectors(dec, k=3, image_shape=test.image_shape).share[:, 0]
    print(
        f"direct, norm={norm!s:9}: test {accuracy(model, test):.2%} · top-eigenvector share "
        f"{share.min():.0%}–{share.max():.0%} (mean {share.mean():.0%}) · ODT effective dims "
        f"{dec.effective_dimensions(0.99)} · every wire cut to 15: "
        f"{accuracy(dec.truncate(15), test):.1%} · {time.perf_counter() - start:.0f} s"
    )
