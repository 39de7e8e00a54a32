"""The clock lives in app/clock.py, a leaf module the models may import; this name stays for the services.

``app.services.clock`` is the very same module object (freezing or patching one is the other).
"""

import sys

from app import clock as _clock

sys.modules[__name__] = _clock
