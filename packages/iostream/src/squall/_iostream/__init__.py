"""The implementation of `squall.iostream` (see that module for the API)."""
