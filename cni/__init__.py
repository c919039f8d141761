"""weft-cni: the CNI plugin that attaches containers started by a runtime (podman) to Weft
networks, through the HTTP API with the host's token (docs/cni.md).

The plugin talks HTTP only: it imports nothing of Weft's database layers and only the
standard library, so that it starts fast on every ADD and DEL.
"""
