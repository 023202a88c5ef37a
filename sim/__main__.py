"""`python -m sim` is the `globalness` command."""

import sys

from sim.entry import main

sys.exit(main())
