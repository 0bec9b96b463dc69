"""squall's HTTP clients: the shared interface and the simple (pooling) implementation.

Public through `squall.httpclient` and `squall.simple_httpclient`.
"""
