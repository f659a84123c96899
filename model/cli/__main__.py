"""``python -m model.cli``."""

import sys

from model.cli.commands import main

sys.exit(main())
