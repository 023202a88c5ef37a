"""`python -m sim` is the `globalness` command."""

import sys

from sim.cli import main

sys.exit(main())
