"""bind_unused_port, get_unused_port and get_async_test_timeout."""

from __future__ import annotations

import socket

import pytest

from squall.testing import bind_unused_port, get_async_test_timeout, get_unused_port


def test_bind_unused_port_listens_on_ipv4_loopback() -> None:
    sock, port = bind_unused_port()
    with sock:
        assert sock.getsockname() == ("127.0.0.1", port)
        assert sock.family == socket.AF_INET
        assert not sock.getblocking()
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass


def test_bind_unused_port_gives_distinct_ports() -> None:
    first, port1 = bind_unused_port()
    second, port2 = bind_unused_port()
    with first, second:
        assert port1 != port2


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT")
def test_bind_unused_port_with_reuse_port() -> None:
    sock, _ = bind_unused_port(reuse_port=True)
    with sock:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)


def test_bind_unused_port_on_another_address() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        sock, port = bind_unused_port(address="::1")
    except OSError:
        pytest.skip("no IPv6 loopback")
    with sock:
        assert sock.family == socket.AF_INET6
        assert sock.getsockname()[1] == port


def test_get_unused_port_is_deprecated_and_distinct() -> None:
    with pytest.warns(DeprecationWarning, match="bind_unused_port"):
        ports = {get_unused_port() for _ in range(5)}
    assert len(ports) == 5
    assert all(0 < port < 65536 for port in ports)


def test_get_unused_port_warning_points_at_the_caller() -> None:
    with pytest.warns(DeprecationWarning, match="get_unused_port") as record:
        get_unused_port()
    assert record[0].filename == __file__


def test_async_test_timeout_default_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASYNC_TEST_TIMEOUT", raising=False)
    assert get_async_test_timeout() == 5
    monkeypatch.setenv("ASYNC_TEST_TIMEOUT", "12.5")
    assert get_async_test_timeout() == 12.5


@pytest.mark.parametrize("value", ["soon", "0", "-1", "nan", "inf"])
def test_async_test_timeout_refuses_nonsense(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("ASYNC_TEST_TIMEOUT", value)
    with pytest.raises(ValueError, match="ASYNC_TEST_TIMEOUT"):
        get_async_test_timeout()


def test_public_surface() -> None:
    import squall.testing

    public = sorted(
        name
        for name, value in vars(squall.testing).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == "squall.testing"
    )
    assert squall.testing.__all__ == sorted(squall.testing.__all__)
    assert public == squall.testing.__all__
