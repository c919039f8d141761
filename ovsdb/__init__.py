"""The OVSDB manager: every registered host's br-int, controller target and tunnels.

The `ovs` package that ovsdbapp is built on imports eventlet at import time, and eventlet
warns that it is deprecated. Weft never runs eventlet (see controller/runner.py), so the
warning is noise that would open every controller log; it is ignored here, before any
module of this package imports `ovs`.
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
