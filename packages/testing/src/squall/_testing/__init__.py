"""Implementation of `squall.testing` and of squall's pytest plugin.

``_timeout`` holds the async test timeout setting, ``_ports`` the port
helpers, ``_log`` `ExpectLog` and `LogTrapTestCase`, ``_supervisor`` the
per-test IOLoop supervision shared by the unittest classes and the pytest
plugin (failures in callbacks, deadlines, leak reports), ``_case``
`AsyncTestCase` and `gen_test`, ``_http`` the HTTP test cases, ``_main``
the test runner, ``_pytest`` the pytest plugin (entry point ``squall`` of
the ``pytest11`` group).  ``test.crt`` / ``test.key`` are the self-signed
certificate `AsyncHTTPSTestCase` serves.
"""
