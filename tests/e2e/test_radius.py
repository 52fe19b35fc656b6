"""``plugin radius.so`` against a real FreeRADIUS, started here on loopback in the server's netns.

The throwaway FreeRADIUS (Debian's configuration, copied into the lab, running as root with its
logs and accounting detail files in the lab) knows users the server's secrets files do not:
arthur (PAP) and ford (CHAP-MD5) get in with the Framed-IP-Address it gives them, a wrong
password is refused with pppd's status 11, and the detail file records Accounting Start and
Stop with octet counts. A server that does not answer refuses the call, with one clear line.
ford with MS-CHAPv2 or MS-CHAP (v1) and ``require-mppe-128`` runs MPPE on the keys
FreeRADIUS's mschap module sends (MS-MPPE-Send-Key/Recv-Key, or MS-CHAP-MPPE-Keys for v1;
``use_mppe`` is on by default): pings and a hashed transfer.
"""

from __future__ import annotations

import re
import shutil
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyppp.aio.cable import NullModemCable

from .netns import _SINK, _SOURCE, Lab, LoggedProcess, Netns, ping, tcp_transfer

SERVER = "10.99.16.1"
USERS = """\
arthur Cleartext-Password := "dentPW42"
\tFramed-IP-Address = 10.99.16.77,
\tAcct-Interim-Interval = 60
ford Cleartext-Password := "prefectPW42"
\tFramed-IP-Address = 10.99.16.78
"""
UP = r"^remote IP address "


def _freeradius_missing() -> str | None:
    if shutil.which("freeradius") is None or not Path("/etc/freeradius/3.0").is_dir():
        return "FreeRADIUS is not installed (apt-get install freeradius; tests/apt-packages.txt)"
    return None


@pytest.fixture
def radius(lab: Lab) -> Iterator[Path]:
    """FreeRADIUS in namespace a on 127.0.0.1:1812/1813; yields its log directory."""
    reason = _freeradius_missing()
    if reason is not None:
        pytest.skip(reason)
    conf = lab.tmp / "raddb"
    shutil.copytree("/etc/freeradius/3.0", conf, symlinks=False)
    logdir = lab.tmp / "radlog"
    (lab.tmp / "radrun").mkdir()
    logdir.mkdir()
    text = (conf / "radiusd.conf").read_text()
    text = re.sub(r"(?m)^logdir = .*$", f"logdir = {logdir}", text)
    text = re.sub(r"(?m)^run_dir = .*$", f"run_dir = {lab.tmp / 'radrun'}", text)
    text = re.sub(r"(?m)^\s*(user|group) = freerad\s*$", "", text)  # stays root: the lab's files
    (conf / "radiusd.conf").write_text(text)
    (conf / "mods-config" / "files" / "authorize").write_text(USERS)
    server = lab.start("freeradius", lab.a, ["freeradius", "-X", "-d", str(conf)])
    server.wait_for(r"^Ready to process requests", timeout=30)
    yield logdir
    server.stop()


def _radius_conf(lab: Lab, *, authserver: str = "127.0.0.1", timeout: int = 3) -> Path:
    directory = lab.tmp / "radiusclient"
    directory.mkdir(exist_ok=True)
    (directory / "servers").write_text("127.0.0.1 testing123\n")
    (directory / "servers").chmod(0o600)
    conf = directory / "radiusclient.conf"
    conf.write_text(
        f"authserver {authserver}\nacctserver 127.0.0.1\nservers {directory / 'servers'}\n"
        f"radius_timeout {timeout}\nradius_retries 2\n"
        "dictionary /etc/radiusclient/dictionary\nseqfile /var/run/radius.seq\n"
    )
    return conf


def _serve(lab: Lab, devices: list[str], conf: Path, *words: str) -> LoggedProcess:
    server_dir = lab.config_dir("server")  # empty secrets: every user is RADIUS's
    return lab.pyppp(
        "server",
        lab.a,
        "serve",
        *devices,
        "--config-dir",
        str(server_dir),
        "auth",
        "require-chap",
        "require-pap",
        "plugin",
        "radius.so",
        "radius-config-file",
        str(conf),
        f"{SERVER}:",
        *words,
    )


def _dial(lab: Lab, ns: Netns, device: str, user: str, password: str, *words: str) -> LoggedProcess:
    client_dir = lab.config_dir(f"client-{user}-{ns.name[-3:]}")
    return lab.pyppp(
        f"client-{user}",
        ns,
        "dial",
        device,
        "--user",
        user,
        "--password",
        password,
        "--config-dir",
        str(client_dir),
        "noauth",
        *words,
    )


def test_pap_chap_users_get_radius_addresses_and_are_accounted(lab: Lab, radius: Path) -> None:
    conf = _radius_conf(lab)
    with NullModemCable() as one, NullModemCable() as two, NullModemCable() as three:
        cables = [one, two, three]
        devices = [cable.ends[0] for cable in cables]
        server = _serve(lab, devices, conf)
        for device in devices:
            server.wait_for(rf": Connect: ppp\d+ <--> {device}$", timeout=20)
        namespaces = [lab.namespace(f"r{index}") for index in range(3)]
        arthur = _dial(lab, namespaces[0], one.ends[1], "arthur", "dentPW42", "refuse-chap")
        ford = _dial(lab, namespaces[1], two.ends[1], "ford", "prefectPW42")
        zaphod = _dial(lab, namespaces[2], three.ends[1], "arthur", "notThePassword")
        arthur.wait_for(UP, timeout=40)
        ford.wait_for(UP, timeout=40)
        assert arthur.find(r"^local  IP address 10\.99\.16\.77$"), arthur.text
        assert ford.find(r"^local  IP address 10\.99\.16\.78$"), ford.text
        assert arthur.find(r"^PAP authentication succeeded$"), arthur.text
        assert ford.find(r"^CHAP authentication succeeded"), ford.text
        assert server.find(r"RADIUS: arthur accepted by 127\.0\.0\.1$"), server.text
        assert server.find(r"RADIUS: ford accepted by 127\.0\.0\.1$"), server.text
        # The wrong password: refused, that call's status 11, the caller's 19.
        assert zaphod.wait(40) == 19, zaphod.text
        third = devices[2].removeprefix("/dev/")
        server.wait_for(rf"^{third}: line done, status 11$", timeout=20)
        assert not zaphod.find(UP), zaphod.text
        # Traffic both ways on arthur's line, so the counts are more than LCP's.
        namespaces[0].wait_address("10.99.16.77", timeout=10)
        sink = lab.start("sink", lab.a, [sys.executable, "-c", _SINK, SERVER, "5201", "30"])
        sink.wait_for("listening", timeout=10)
        source = lab.start(
            "source",
            namespaces[0],
            [sys.executable, "-c", _SOURCE, SERVER, "5201", "20000", "30"],
        )
        assert source.wait(40) == 0, source.text + sink.text
        arthur.signal(signal.SIGTERM)
        assert arthur.wait(20) == 5, arthur.text
        first = devices[0].removeprefix("/dev/")
        server.wait_for(rf"^{first}: Connection terminated\.$", timeout=20)
        server.signal(signal.SIGTERM)
        server.wait(30)
        text = server.text
        assert "Traceback" not in text, text
        for secret in ("dentPW42", "prefectPW42", "notThePassword", "testing123"):
            assert secret not in text, text
    details = list(radius.glob("radacct/*/detail-*"))
    assert details, list(radius.rglob("*"))
    records = details[0].read_text().split("\n\n")
    mine = [r for r in records if 'User-Name = "arthur"' in r]
    kinds = [m.group(1) for r in mine if (m := re.search(r"Acct-Status-Type = (\S+)", r))]
    assert kinds[:1] == ["Start"], records
    assert "Stop" in kinds, records
    stop = next(r for r in mine if "Acct-Status-Type = Stop" in r)
    octets_in = int(re.search(r"Acct-Input-Octets = (\d+)", stop).group(1))  # type: ignore[union-attr]
    octets_out = int(re.search(r"Acct-Output-Octets = (\d+)", stop).group(1))  # type: ignore[union-attr]
    assert octets_in > 20000, stop
    assert octets_out > 0, stop
    assert "Framed-IP-Address = 10.99.16.77" in stop, stop
    assert "NAS-Port-Type = Async" in stop, stop
    assert any("Acct-Status-Type = Stop" in r and 'User-Name = "ford"' in r for r in records)


def test_unreachable_server_refuses_the_call(lab: Lab) -> None:
    conf = _radius_conf(lab, authserver="127.0.0.1:1999,127.0.0.1:1998", timeout=1)
    with NullModemCable() as cable:
        server = _serve(lab, [cable.ends[0]], conf)
        server.wait_for(r"Connect: ppp\d+ <--> ", timeout=20)
        client = _dial(lab, lab.b, cable.ends[1], "arthur", "dentPW42", "refuse-chap")
        # Two servers, two tries each, one second each: about four seconds, then a refusal.
        assert client.wait(40) == 19, client.text
        assert server.wait(20) == 11, server.text
        assert server.find(r"RADIUS server 127\.0\.0\.1:1999 did not answer \(2 tries\)$")
        assert server.find(r"RADIUS server 127\.0\.0\.1:1998 did not answer \(2 tries\)$")
        assert server.find(r"RADIUS: no server answered for arthur: refusing the call$")
        assert "Traceback" not in server.text, server.text


def test_mschapv2_user_checked_by_radius(lab: Lab, radius: Path) -> None:
    conf = _radius_conf(lab)
    with NullModemCable() as cable:
        server_dir = lab.config_dir("server")
        server = lab.pyppp(
            "server",
            lab.a,
            "serve",
            cable.ends[0],
            "--config-dir",
            str(server_dir),
            "auth",
            "require-mschap-v2",
            "plugin",
            "radius.so",
            "radius-config-file",
            str(conf),
            f"{SERVER}:",
        )
        server.wait_for(r"Connect: ppp\d+ <--> ", timeout=20)
        client = _dial(lab, lab.b, cable.ends[1], "ford", "prefectPW42")
        client.wait_for(UP, timeout=40)
        # The client checked FreeRADIUS's authenticator response (RFC 2759 mutual auth).
        assert client.find(r"^CHAP authentication succeeded"), client.text
        assert not client.find(r"mutual authentication failed"), client.text
        assert client.find(r"^local  IP address 10\.99\.16\.78$"), client.text
        assert server.find(r"RADIUS: ford accepted by 127\.0\.0\.1$"), server.text
        server.signal(signal.SIGTERM)
        assert server.wait(30) == 5, server.text
        assert "prefectPW42" not in server.text


@pytest.mark.parametrize("method", ["mschap-v2", "mschap"])
def test_ms_chap_caller_gets_mppe_from_the_servers_keys(
    lab: Lab, radius: Path, method: str
) -> None:
    """The NAS has no NT hash for ford: MPPE runs on the keys FreeRADIUS sends.

    MS-CHAPv2: MS-MPPE-Send/Recv-Key; MS-CHAP (v1): MS-CHAP-MPPE-Keys (the NT hash's hash).
    """
    conf = _radius_conf(lab)
    with NullModemCable() as cable:
        server_dir = lab.config_dir("server")  # empty secrets: ford is RADIUS's alone
        server = lab.pyppp(
            "server", lab.a, "serve", cable.ends[0], "--config-dir", str(server_dir),
            "auth", f"require-{method}", "require-mppe-128", "plugin", "radius.so",
            "radius-config-file", str(conf), f"{SERVER}:", "debug",
        )  # fmt: skip
        server.wait_for(r"Connect: ppp\d+ <--> ", timeout=20)
        client = _dial(lab, lab.b, cable.ends[1], "ford", "prefectPW42", "require-mppe-128")
        client.wait_for(UP, timeout=40)
        logs = f"server:\n{server.text}\n---\nclient:\n{client.text}"
        assert server.find(r"RADIUS: ford accepted by 127\.0\.0\.1$"), logs
        for side in (server, client):
            assert side.find(r"^MPPE 128-bit stateless compression enabled$"), logs
        assert client.find(r"^local  IP address 10\.99\.16\.78$"), logs
        lab.b.wait_address("10.99.16.78", timeout=10)
        # Keys the wrong way round, or a corrupt last octet, and not one datagram decrypts.
        ping(lab.b, SERVER, count=3, size=1000)
        ping(lab.a, "10.99.16.78", count=3, size=1000)
        _, sent_hash, got_hash = tcp_transfer(
            lab, lab.a, SERVER, lab.b, size=1024 * 1024, timeout=120
        )
        assert sent_hash == got_hash
        server.signal(signal.SIGTERM)
        assert server.wait(30) == 5, server.text
        assert client.wait(20) == 0, client.text
        text = server.text + client.text
        assert "Traceback" not in text, text
        for secret in ("prefectPW42", "testing123"):
            assert secret not in text, text
