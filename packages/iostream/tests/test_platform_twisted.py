"""Tests for squall.platform.twisted.

Twisted has one reactor per process, installed for good: every test that
installs it (TwistedResolver, install, TwistedIOLoop...) runs a small
script in a subprocess, on asyncio and on uvloop, so this process stays
clean.  Only what leaves the reactor alone (Deferreds in coroutines, the
deprecation errors) runs here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("twisted")

import squall.ioloop
import squall.log
import squall.netutil
from squall import gen
from squall.ioloop import IOLoop

#: Where this process found squall's packages: the children import the same.
SOURCE_DIRS = [
    Path(module.__file__ or "").resolve().parents[1]
    for module in (squall.netutil, squall.ioloop, squall.log)
]

LOOPS = ["asyncio", "uvloop"]

PRELUDE = """\
import asyncio, json, socket, sys, warnings
from squall.ioloop import IOLoop
"""


def run_child(script: str, loop_name: str = "asyncio") -> Any:
    """Run `script` in a fresh interpreter; return what it printed last, as JSON."""
    if loop_name == "uvloop":
        pytest.importorskip("uvloop")
    env = dict(os.environ)
    paths = [str(p) for p in dict.fromkeys(SOURCE_DIRS)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["SQUALL_IOLOOP"] = loop_name
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-c", PRELUDE + textwrap.dedent(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    lines = completed.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None


# -- TwistedResolver ----------------------------------------------------------


RESOLVER_SCRIPT = """
from squall.netutil import Resolver

async def main():
    Resolver.configure("twisted")
    resolver = Resolver()
    out = {"class": type(resolver).__name__}
    from twisted.internet import reactor
    out["same_loop"] = reactor._asyncioEventloop is IOLoop.current().asyncio_loop
    out["localhost"] = await resolver.resolve("localhost", 80)
    out["localhost4"] = await resolver.resolve("localhost", 81, socket.AF_INET)
    out["literal4"] = await resolver.resolve("127.0.0.1", 82)
    out["literal6"] = await resolver.resolve("::1", 83)
    errors = {}
    for host, family in [("nonexistent.invalid", 0), ("a" * 70 + ".example", 0),
                         ("x\\0y.example", 0), ("", 0), ("::1", socket.AF_INET)]:
        try:
            await resolver.resolve(host, 80, family)
        except OSError as exc:
            errors[host] = [type(exc).__name__, str(exc)]
    out["errors"] = errors
    many = await asyncio.gather(*(resolver.resolve("localhost", p) for p in range(5)))
    out["many"] = [len(r) > 0 for r in many]
    delivered = asyncio.Event()
    got = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resolver.resolve("127.0.0.1", 84, callback=lambda r: (got.append(r), delivered.set()))
    await delivered.wait()
    out["callback"] = [got, [str(w.category.__name__) for w in caught]]
    resolver.close()
    # A second resolver on the same loop shares the reactor.
    second = Resolver()
    out["second"] = await second.resolve("127.0.0.1", 85)
    second.close()
    return out

print(json.dumps(IOLoop().run_sync(main, timeout=60)))
"""


@pytest.mark.parametrize("loop_name", LOOPS)
def test_twisted_resolver(loop_name: str) -> None:
    out = run_child(RESOLVER_SCRIPT, loop_name)
    assert out["class"] == "TwistedResolver"
    assert out["same_loop"]
    for family, address in out["localhost"]:
        assert family in (2, 10)  # AF_INET, AF_INET6
        assert address[1] == 80
    assert {address[0] for _, address in out["localhost"]} & {"127.0.0.1", "::1"}
    assert [2, ["127.0.0.1", 81]] in out["localhost4"]
    assert {family for family, _ in out["localhost4"]} == {2}
    assert out["literal4"] == [[2, ["127.0.0.1", 82]]]
    assert out["literal6"] == [[10, ["::1", 83, 0, 0]]]
    errors = out["errors"]
    assert set(errors) == {"nonexistent.invalid", "a" * 70 + ".example", "x\0y.example", "", "::1"}
    for host, (kind, message) in errors.items():
        assert kind == "gaierror"
        assert repr(host) in message
    assert "NXDOMAIN" in errors["nonexistent.invalid"][1]
    assert out["many"] == [True] * 5
    assert out["callback"] == [[[[2, ["127.0.0.1", 84]]]], ["DeprecationWarning"]]
    assert out["second"] == [[2, ["127.0.0.1", 85]]]


def test_twisted_resolver_refuses_another_reactor() -> None:
    out = run_child(
        """
        from twisted.internet import reactor  # Twisted's default reactor
        from squall.platform.twisted import TwistedResolver, install
        messages = []
        for make in (TwistedResolver, install):
            try:
                make()
            except RuntimeError as exc:
                messages.append(str(exc))
        print(json.dumps([type(reactor).__name__, messages]))
        """
    )
    name, messages = out
    assert len(messages) == 2
    for message in messages:
        assert name in message
        assert "asyncioreactor" in message


def test_twisted_resolver_refuses_a_reactor_on_another_loop() -> None:
    out = run_child(
        """
        from twisted.internet import asyncioreactor
        asyncioreactor.install(eventloop=asyncio.new_event_loop())
        from squall.platform.twisted import TwistedResolver
        loop = IOLoop()
        try:
            loop.run_sync(TwistedResolver)
        except RuntimeError as exc:
            print(json.dumps(str(exc)))
        """
    )
    assert "another asyncio loop" in out


def test_twisted_resolver_uses_an_asyncio_reactor_already_on_the_loop() -> None:
    out = run_child(
        """
        from twisted.internet import asyncioreactor
        loop = IOLoop()
        asyncioreactor.install(eventloop=loop.asyncio_loop)
        from twisted.internet import reactor
        from squall.platform.twisted import TwistedResolver

        async def main():
            resolver = TwistedResolver()
            try:
                return [resolver.reactor is reactor, await resolver.resolve("localhost", 80, 2)]
            finally:
                resolver.close()

        print(json.dumps(loop.run_sync(main, timeout=60)))
        """
    )
    assert out[0] is True
    assert [2, ["127.0.0.1", 80]] in out[1]


def test_closed_twisted_resolver_leaves_no_timer() -> None:
    out = run_child(
        """
        from squall.platform.twisted import TwistedResolver

        async def main():
            resolver = TwistedResolver()
            before = len(resolver.reactor.getDelayedCalls())
            resolver.close()
            return [before, len(resolver.reactor.getDelayedCalls())]

        print(json.dumps(IOLoop().run_sync(main)))
        """
    )
    assert out[1] < out[0]


def test_io_loop_argument_of_twisted_resolver_is_deprecated() -> None:
    out = run_child(
        """
        from squall.platform.twisted import TwistedResolver
        loop = IOLoop()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            TwistedResolver(io_loop=loop).close()
        print(json.dumps([str(w.message) for w in caught]))
        """
    )
    assert len(out) == 1
    assert "io_loop" in out[0]


# -- install: Twisted code on squall's loop -----------------------------------


INSTALL_SCRIPT = """
import squall.platform.twisted as bridge
assert "twisted.internet.reactor" not in sys.modules  # importing installs nothing

loop = IOLoop()
reactor = bridge.install()
from twisted.internet import reactor as global_reactor
from twisted.internet import asyncioreactor, defer, protocol, task, threads

out = {
    "global": reactor is global_reactor,
    "asyncio_reactor": isinstance(reactor, asyncioreactor.AsyncioSelectorReactor),
    "same_loop": reactor._asyncioEventloop is loop.asyncio_loop,
    "running": reactor.running,
    "again": bridge.install() is reactor,
}


class Echo(protocol.Protocol):
    def dataReceived(self, data):
        self.transport.write(data.upper())


async def main():
    # Twisted's timers, threads and TCP servers run while squall's loop runs.
    out["deferLater"] = await task.deferLater(reactor, 0.01, lambda: "later").asFuture(
        asyncio.get_running_loop()
    )
    out["deferToThread"] = await threads.deferToThread(lambda: "thread").asFuture(
        asyncio.get_running_loop()
    )
    factory = protocol.Factory.forProtocol(Echo)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    reader, writer = await asyncio.open_connection("127.0.0.1", port.getHost().port)
    writer.write(b"hello twisted\\n")
    out["echo"] = (await reader.readline()).decode()
    writer.close()
    await writer.wait_closed()
    await port.stopListening().asFuture(asyncio.get_running_loop())

    # A Deferred yielded in a gen.coroutine.
    from squall import gen

    @gen.coroutine
    def legacy():
        value = yield task.deferLater(reactor, 0, lambda: 21)
        return value * 2

    out["coroutine"] = await legacy()
    return out


print(json.dumps(loop.run_sync(main, timeout=60)))
"""


@pytest.mark.parametrize("loop_name", LOOPS)
def test_install_runs_twisted_on_the_ioloop(loop_name: str) -> None:
    out = run_child(INSTALL_SCRIPT, loop_name)
    assert out == {
        "global": True,
        "asyncio_reactor": True,
        "same_loop": True,
        "running": True,
        "again": True,
        "deferLater": "later",
        "deferToThread": "thread",
        "echo": "HELLO TWISTED\n",
        "coroutine": 42,
    }


def test_reactor_stop_shuts_twisted_down_and_stops_the_ioloop() -> None:
    out = run_child(
        """
        import squall.platform.twisted as bridge
        from twisted.internet import threads
        loop = IOLoop()
        reactor = bridge.install()
        events = []
        reactor.addSystemEventTrigger("before", "shutdown", events.append, "shutdown")

        async def use_threads():
            events.append(await threads.deferToThread(lambda: "thread").asFuture(
                asyncio.get_running_loop()))
            reactor.stop()

        loop.add_callback(use_threads)
        loop.start()  # returns once the reactor has stopped
        events.append(reactor.getThreadPool().started)
        print(json.dumps(events))
        """
    )
    assert out == ["thread", "shutdown", False]


def test_install_io_loop_argument_is_deprecated() -> None:
    out = run_child(
        """
        import squall.platform.twisted as bridge
        loop = IOLoop(make_current=False)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reactor = bridge.install(io_loop=loop)
        print(json.dumps([reactor._asyncioEventloop is loop.asyncio_loop,
                          [str(w.message) for w in caught]]))
        """
    )
    same_loop, messages = out
    assert same_loop
    assert len(messages) == 1
    assert "io_loop" in messages[0]


# -- deprecated bridges -------------------------------------------------------


@pytest.mark.parametrize("loop_name", LOOPS)
def test_tornado_reactor_is_deprecated(loop_name: str) -> None:
    out = run_child(
        """
        from squall.platform.twisted import TornadoReactor
        loop = IOLoop()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reactor = TornadoReactor()

        async def main():
            fired = asyncio.Event()
            reactor.callLater(0, fired.set)
            await fired.wait()
            return True

        print(json.dumps([
            type(reactor).__name__,
            reactor._asyncioEventloop is loop.asyncio_loop,
            "twisted.internet.reactor" in sys.modules,  # not the global one
            loop.run_sync(main, timeout=30),
            [(w.category.__name__, str(w.message)) for w in caught],
        ]))
        """,
        loop_name,
    )
    name, same_loop, global_installed, fired, caught = out
    assert name == "AsyncioSelectorReactor"
    assert same_loop
    assert not global_installed
    assert fired
    [(category, message)] = caught
    assert category == "DeprecationWarning"
    assert "squall.platform.twisted.install()" in message
    assert "asyncioreactor" in message


def test_twisted_ioloop_is_deprecated_and_runs_under_reactor_run() -> None:
    # Tornado 4's recipe: TwistedIOLoop().install(); reactor.run().
    out = run_child(
        """
        from squall.platform.twisted import TwistedIOLoop
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            io_loop = TwistedIOLoop()
            io_loop.install()
        from twisted.internet import reactor
        seen = {}

        def on_loop():
            seen["current"] = IOLoop.current() is io_loop
            reactor.stop()

        io_loop.add_callback(on_loop)
        reactor.run(installSignalHandlers=False)
        print(json.dumps([
            seen,
            reactor._asyncioEventloop is io_loop.asyncio_loop,
            [(w.category.__name__, str(w.message)) for w in caught],
        ]))
        """
    )
    seen, same_loop, caught = out
    assert seen == {"current": True}
    assert same_loop
    categories = {category for category, _ in caught}
    assert categories == {"DeprecationWarning"}
    assert any("TwistedIOLoop" in m and "install()" in m for _, m in caught)


def test_twisted_ioloop_on_an_installed_asyncio_reactor() -> None:
    out = run_child(
        """
        from twisted.internet import asyncioreactor
        asyncioreactor.install(eventloop=asyncio.new_event_loop())
        from twisted.internet import reactor
        from squall.platform.twisted import TwistedIOLoop
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            io_loop = TwistedIOLoop(make_current=False)
        print(json.dumps(io_loop.asyncio_loop is reactor._asyncioEventloop))
        """
    )
    assert out is True


def test_twisted_ioloop_refuses_other_reactors() -> None:
    from squall.platform.twisted import TwistedIOLoop

    with (
        pytest.warns(DeprecationWarning, match="TwistedIOLoop"),
        pytest.raises(TypeError, match="asyncio reactor"),
    ):
        TwistedIOLoop(reactor=object(), make_current=False)


# -- Deferreds in coroutines (no reactor needed) -------------------------------


def test_fired_deferreds_can_be_yielded(io_loop: IOLoop) -> None:
    from twisted.internet import defer

    import squall.platform.twisted  # noqa: F401  (registers Deferred)

    @gen.coroutine
    def main() -> Any:
        value = yield defer.succeed(20)
        try:
            yield defer.fail(ValueError("boom"))
        except ValueError as exc:
            return value, str(exc)
        return None

    assert io_loop.run_sync(main) == (20, "boom")


def test_pending_deferred_can_be_yielded(io_loop: IOLoop) -> None:
    from twisted.internet import defer

    import squall.platform.twisted  # noqa: F401  (registers Deferred)

    @gen.coroutine
    def main() -> Any:
        deferred: defer.Deferred[int] = defer.Deferred()
        IOLoop.current().call_later(0, deferred.callback, 7)
        value = yield deferred
        return value

    assert io_loop.run_sync(main) == 7
    assert "twisted.internet.reactor" not in sys.modules


def test_exports() -> None:
    import squall.platform.twisted as bridge

    assert bridge.__all__ == ["TornadoReactor", "TwistedIOLoop", "TwistedResolver", "install"]
    assert issubclass(bridge.TwistedResolver, squall.netutil.Resolver)
