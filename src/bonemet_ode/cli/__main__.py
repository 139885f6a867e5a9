"""``python -m bonemet_ode.cli``."""

import sys

from . import main

sys.exit(main())
