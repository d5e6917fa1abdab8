"""The weights at every epoch: an epoch hook through train's public interface, stored once."""

import torch

from xnets_lite.core.model import XNet
from xnets_lite.course.exercises.core import random_dataset
from xnets_lite.training.trajectory import trajectory_or_load


def make():
    return XNet(9, 4, 4, 3, 2)


def test_snapshots_per_epoch_last_is_the_trained_model_and_a_second_call_loads(tmp_path):
    data = random_dataset(0)
    path = tmp_path / "traj.pt"
    kwargs = dict(epochs=3, batch_size=16, device="cpu")
    models, trained = trajectory_or_load(path, make, data, seed=0, **kwargs)
    assert trained and len(models) == 3 and path.exists()
    first, last = models[0].state_dict(), models[-1].state_dict()
    assert any(not torch.equal(first[k], last[k]) for k in first)  # training moved them
    again, trained = trajectory_or_load(path, make, data, seed=0, **kwargs)
    assert not trained
    assert all(torch.equal(a, b) for a, b in zip(models[-1].parameters(), again[-1].parameters()))
    # the same recipe trained afresh ends at the same weights (seeded like train_or_load)
    fresh, _ = trajectory_or_load(tmp_path / "other.pt", make, data, seed=0, **kwargs)
    assert all(torch.equal(a, b) for a, b in zip(models[-1].parameters(), fresh[-1].parameters()))
    _, trained = trajectory_or_load(path, make, data, seed=0, **dict(kwargs, epochs=2))
    assert trained  # another recipe: retrained
