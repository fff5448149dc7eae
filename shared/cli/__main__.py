"""`python -m shared.cli`: the `skillstack` command without its entry point installed."""

import sys

from shared.cli import main

sys.exit(main())
