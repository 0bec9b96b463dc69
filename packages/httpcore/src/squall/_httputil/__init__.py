"""The implementation of `squall.httputil` (see that module for the API)."""
