"""``python -m xnets_lite.data fetch``: set up the offline MNIST (``mnist.main``)."""

import sys

from xnets_lite.data.mnist import main

sys.exit(main())
