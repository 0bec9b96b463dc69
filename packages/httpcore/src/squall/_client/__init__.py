"""Implementation of `squall.client` (requests-style sessions); see that module."""
