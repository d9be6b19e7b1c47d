"""`python -m training_lib ...`: see `training_lib.cli`."""
from __future__ import annotations

import sys

from training_lib.cli import main

sys.exit(main())
