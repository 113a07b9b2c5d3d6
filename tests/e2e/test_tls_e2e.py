"""HTTPS end to end: a real `d2a serve --certfile --keyfile` with certificates made here by a
test CA, and replicas logging in through the real CLI. The client checks the certificate
(against `--ca-file`) and refuses, in one `d2a:` line and before sending anything, a server
signed by another CA, one whose certificate has expired, and one whose certificate names
another host."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme

from d2a_tui.storage.db import make_engine
from d2a_tui.storage.journeys import event_table
from tests.e2e.conftest import CliReplica, ServerProcess, cli_env, d2a

pytestmark = pytest.mark.e2e


def write_identity(tmp: Path, cert: trustme.LeafCert, name: str) -> tuple[Path, Path]:
    certfile, keyfile = tmp / f"{name}.pem", tmp / f"{name}.key"
    cert.cert_chain_pems[0].write_to_path(str(certfile))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(certfile), append=True)
    cert.private_key_pem.write_to_path(str(keyfile))
    return certfile, keyfile


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, path


def start_server(tmp: Path, database_url: str, cert: trustme.LeafCert, name: str) -> ServerProcess:
    server = ServerProcess(
        database_url,
        tmp / f"{name}.log",
        cli_env(tmp / name),
        tls=write_identity(tmp, cert, name),
        host_name="localhost",
    )
    server.start()
    return server


@pytest.fixture(scope="module")
def tls_server(
    e2e_database_url: str,
    authority: tuple[trustme.CA, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("tls")
    server = start_server(tmp, e2e_database_url, authority[0].issue_cert("localhost"), "good")
    d2a(
        "server", "add-user", "--db", e2e_database_url, "--name", "Tess Tls", "--role",
        "coordinator", "--id", "tess", env=cli_env(tmp / "admin"),
    )  # fmt: skip
    try:
        yield server
    finally:
        server.stop()


def enrol(server: ServerProcess, home: Path) -> str:
    done = d2a(
        "server", "enrol-device", "--db", server.database_url, "--user", "tess",
        env=cli_env(home / "admin"),
    )  # fmt: skip
    return done.stdout.strip()


def replica(tmp_path: Path, name: str) -> CliReplica:
    home = tmp_path / name
    home.mkdir()
    return CliReplica(name, home)


def assert_one_refusal(done: object, *words: str) -> None:
    stderr = done.stderr.strip()  # type: ignore[attr-defined]
    assert done.returncode != 0, stderr  # type: ignore[attr-defined]
    assert len(stderr.splitlines()) == 1, stderr
    assert stderr.startswith("d2a: "), stderr
    assert "Traceback" not in stderr
    for word in words:
        assert word in stderr, stderr


def test_login_and_sync_over_https_with_a_local_ca(
    tls_server: ServerProcess, authority: tuple[trustme.CA, Path], tmp_path: Path
) -> None:
    night = replica(tmp_path, "night")
    token = enrol(tls_server, tmp_path)
    night.run("login", "--server", tls_server.url, "--token", token, "--ca-file", str(authority[1]))
    assert night.login_file()["ca_file"] == str(authority[1])
    engine = make_engine(tls_server.database_url)
    try:
        with engine.connect() as connection:
            before = connection.execute(event_table.select()).all()
        night.run(
            "refer", "--nhs", "943 476 5919", "--name", "Tls Patient", "--dob", "1940-01-01",
            "--ward", "Ward 3",
        )  # fmt: skip
        synced = night.run("sync")
        assert "pushed 1" in synced.stdout
        assert "plain http" not in synced.stderr
        with engine.connect() as connection:
            after = connection.execute(event_table.select()).all()
    finally:
        engine.dispose()
    # The referral made on the replica is on the server: one event more than before.
    assert len(after) == len(before) + 1
    assert night.status()["state"] == "online"


def test_login_refused_for_a_server_signed_by_another_ca(
    tls_server: ServerProcess, tmp_path: Path
) -> None:
    stranger = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(stranger))
    night = replica(tmp_path, "night")
    token = enrol(tls_server, tmp_path)
    done = night.run(
        "login", "--server", tls_server.url, "--token", token, "--ca-file", str(stranger), ok=False
    )
    assert_one_refusal(done, "not trusted", "certificate")
    assert not (night.home / "data" / "sync-login.json").exists()
    # Nothing was sent: the enrolment token still works with the right CA file.


def test_login_refused_without_the_ca_file_for_a_private_ca(
    tls_server: ServerProcess, tmp_path: Path
) -> None:
    night = replica(tmp_path, "night")
    done = night.run("login", "--server", tls_server.url, "--token", "x", ok=False)
    # The system store does not know the test CA.
    assert_one_refusal(done, "not trusted")


def test_login_refused_for_an_expired_certificate(
    e2e_database_url: str, authority: tuple[trustme.CA, Path], tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    cert = authority[0].issue_cert(
        "localhost", not_before=now - timedelta(days=60), not_after=now - timedelta(days=1)
    )
    server = start_server(tmp_path, e2e_database_url, cert, "expired")
    try:
        night = replica(tmp_path, "night")
        done = night.run(
            "login", "--server", server.url, "--token", "x", "--ca-file", str(authority[1]),
            ok=False,
        )  # fmt: skip
    finally:
        server.stop()
    assert_one_refusal(done, "not trusted", "expired")


def test_login_refused_for_a_certificate_naming_another_host(
    e2e_database_url: str, authority: tuple[trustme.CA, Path], tmp_path: Path
) -> None:
    cert = authority[0].issue_cert("d2a.other-hub.example")
    server = start_server(tmp_path, e2e_database_url, cert, "mismatch")
    try:
        night = replica(tmp_path, "night")
        done = night.run(
            "login", "--server", server.url, "--token", "x", "--ca-file", str(authority[1]),
            ok=False,
        )  # fmt: skip
    finally:
        server.stop()
    assert_one_refusal(done, "not trusted", "localhost")


def test_login_refuses_plain_http_to_another_machine(tmp_path: Path) -> None:
    night = replica(tmp_path, "night")
    done = night.run("login", "--server", "http://d2a.hub.example:8765", "--token", "x", ok=False)
    assert_one_refusal(done, "plain http://", "--insecure-http")
    assert not (night.home / "data" / "sync-login.json").exists()


def test_serve_refuses_a_key_that_is_not_the_certificates(
    authority: tuple[trustme.CA, Path], tmp_path: Path
) -> None:
    certfile, _ = write_identity(tmp_path, authority[0].issue_cert("localhost"), "one")
    _, other_key = write_identity(tmp_path, authority[0].issue_cert("localhost"), "two")
    done = d2a(
        "serve", "--db", str(tmp_path / "server.db"), "--certfile", str(certfile), "--keyfile",
        str(other_key), env=cli_env(tmp_path), ok=False,
    )  # fmt: skip
    assert_one_refusal(done, "TLS identity")
