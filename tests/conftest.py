"""Shared fixtures: small, fast slices of the offline MNIST subset."""
import pytest
import torch

# The unit tests use tiny models, for which one thread is fastest and is immune to the
# slow-down torch's thread pool suffers when the machine's cores are busy elsewhere.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def mnist_splits():
    """The full offline MNIST subset: (train 4,000, test 1,000). Loaded once per session."""
    from xnets_lite.data import load_splits
    return load_splits("mnist")


@pytest.fixture(scope="session")
def mnist_small(mnist_splits):
    """(train, test) with 1,000 / 300 images: enough to learn, fast enough for unit tests."""
    train, test = mnist_splits
    return train.subset(1000), test.subset(300)
