"""The forwarded event samples of the parser's tests (tests/unit/plugins/plugin_utils/forwarded_samples.py)."""

import os
import sys

_SAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), *[os.pardir] * 4, "plugins", "plugin_utils")
if os.path.abspath(_SAMPLES) not in sys.path:
    sys.path.insert(0, os.path.abspath(_SAMPLES))
