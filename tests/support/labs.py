"""Lab fixtures (real OVS hosts in network namespaces)."""
