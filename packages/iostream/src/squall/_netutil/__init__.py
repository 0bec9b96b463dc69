"""Implementation of `squall.netutil`, split by concept (see that module)."""
