"""``python -m monerosim_actors``: the same as the ``monerosim-actors`` console script."""

import sys

from monerosim_actors.cli import main

sys.exit(main())
