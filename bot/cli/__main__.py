"""`python -m bot.cli ...`: the `tandem` command without the console script."""

import sys

from bot.cli import main

sys.exit(main())
