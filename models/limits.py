"""The schema's value ranges and choices, as plain constants.

models/tables.py builds its check constraints from these; front ends that only need the
numbers for help texts and choices (the `weft` CLI, which must start fast) import this module
instead of the SQLAlchemy models.
"""

VNI_MIN, VNI_MAX = 1, 2**24 - 1
MTU_MIN, MTU_MAX = 576, 9000
DEFAULT_MTU = 1450  # VXLAN's 50 bytes below a 1500-byte underlay
HOST_STATES = ("pending", "connected", "disconnected")
PORT_STATES = ("unbound", "bound")
TUNNEL_STATES = ("unknown", "up", "down")
DATAPATH_TYPES = ("netdev", "system")  # userspace, kernel
UNREGISTERED_MULTICAST = ("drop", "flood")
MEMBER_ORIGINS = ("static", "snooped")
TOKEN_ROLES = ("admin", "host")
