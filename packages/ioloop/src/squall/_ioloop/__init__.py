"""Implementation of `squall.ioloop` and `squall.platform.asyncio`.

``_base`` holds the `IOLoop` interface and the notion of the current loop,
``_asyncio`` the asyncio-backed implementations, ``_periodic`` the
`PeriodicCallback`, ``_futures`` the conversion of yieldables to asyncio
Futures.  The public modules re-export what they document.
"""
