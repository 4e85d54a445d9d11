"""``python -m pinn``: the ``pinn`` command (see :mod:`pinn.cli`)."""

import sys

from pinn.cli import main

sys.exit(main())
