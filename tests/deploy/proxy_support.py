"""The nginx of deploy/compose, run for real on loopback: a test PKI, rendering, a process.

The template is the file shipped in deploy/compose/nginx; only the
``${BALIZA_...}`` variables change (loopback ports, the test certificate, a
short header timeout), exactly as the nginx image's envsubst step would.
Without an nginx binary the tests skip with the reason; with
``BALIZA_REQUIRE_DEPLOY=1`` (CI) the skip becomes a failure.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from loopback_support import free_port as free_port  # shared with the other suites

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "deploy" / "compose" / "nginx" / "baliza.conf.template"
AGENCY_NETWORKS = REPO / "deploy" / "compose" / "nginx" / "agency-networks.conf"
REQUIRE_DEPLOY_ENV = "BALIZA_REQUIRE_DEPLOY"


def nginx_binary() -> str:
    """The Debian nginx; skips (or fails, in CI) when it is not installed."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if found:
        return found
    reason = "nginx not installed: apt-get install nginx-light (.ci/deploy-checks.sh does)"
    if os.environ.get(REQUIRE_DEPLOY_ENV) == "1":
        pytest.fail(f"{reason}; {REQUIRE_DEPLOY_ENV}=1 requires it")
    pytest.skip(reason)


@dataclass(frozen=True)
class Pki:
    """A test certificate authority and a server certificate for 127.0.0.1 signed by it."""

    ca: Path
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        """A TLS client context trusting only the test CA."""
        return ssl.create_default_context(cafile=str(self.ca))


# A CA signs certificates and revocation lists, nothing else.
_CA_USAGE = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


def make_pki(folder: Path) -> Pki:
    """Write ca.pem, server.pem and server.key (ECDSA P-256) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Baliza test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_CA_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(ca=folder / "ca.pem", cert=folder / "server.pem", key=folder / "server.key")
    pki.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pki


def render(template: str, **values: str) -> str:
    """Substitute the ``${BALIZA_...}`` variables; nginx's own ``$vars`` stay."""
    text = Template(template).safe_substitute({f"BALIZA_{k.upper()}": v for k, v in values.items()})
    assert "${BALIZA_" not in text, "a template variable was left unset"
    return text


@dataclass
class Proxy:
    """A running nginx with the shipped configuration: its two faces and its log."""

    partner_port: int
    internal_port: int
    folder: Path
    process: subprocess.Popen[bytes]

    @property
    def partner_url(self) -> str:
        return f"https://127.0.0.1:{self.partner_port}"

    @property
    def internal_url(self) -> str:
        return f"https://127.0.0.1:{self.internal_port}"

    def error_log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


STOCK_NGINX_CONF = Path("/etc/nginx/nginx.conf")


def stock_nginx_conf(folder: Path, site: Path, temp_paths: str) -> str:
    """Debian's own ``/etc/nginx/nginx.conf``, as the package installs it, pointed at ``folder``.

    Only what must change to run as a test is changed: the pid, log and
    temporary paths go to ``folder``, nginx stays in the foreground, the
    workers run as the test's user, and the shipped site is included where
    the stock file includes ``sites-enabled`` (whose ``default`` site would
    take port 80). Every other directive (TLS settings, gzip, mime types,
    ``conf.d``) is the package's, so a template that clashes with the stock
    http block fails ``nginx -t`` here as it would on a Debian host.
    """
    if not STOCK_NGINX_CONF.is_file():
        reason = f"{STOCK_NGINX_CONF} missing: apt-get install nginx-light"
        if os.environ.get(REQUIRE_DEPLOY_ENV) == "1":
            pytest.fail(f"{reason}; {REQUIRE_DEPLOY_ENV}=1 requires it")
        pytest.skip(reason)
    text = STOCK_NGINX_CONF.read_text()
    user = "user root root;" if os.geteuid() == 0 else ""
    replacements = [
        (r"^user\s+[^;]*;", user),
        (r"^pid\s+[^;]*;", f"pid {folder / 'nginx.pid'};\ndaemon off;"),
        (r"^error_log\s+[^;]*;", f"error_log {folder / 'error.log'} info;"),
        (r"^(\s*)access_log\s+[^;]*;", r"\1access_log off;"),
        (r"^(\s*)include\s+/etc/nginx/sites-enabled/\*;", rf"\1include {site};"),
        (r"^http\s*\{", "http {\n" + temp_paths.replace("\\", "\\\\")),
    ]
    for pattern, replacement in replacements:
        text, count = re.subn(pattern, replacement, text, count=1, flags=re.M)
        assert count == 1 or pattern.startswith("^user"), f"stock nginx.conf without {pattern}"
    return text


def start_proxy(
    folder: Path,
    pki: Pki,
    upstream_port: int,
    header_timeout: str = "10s",
    agency_networks: Path = AGENCY_NETWORKS,
) -> Proxy:
    """Render the shipped template for loopback, check it with ``nginx -t``, run it.

    ``agency_networks`` is the file of ``allow`` lines for the agency face
    (the shipped one, loopback only, unless a test names another).
    """
    nginx = nginx_binary()
    folder.mkdir(parents=True, exist_ok=True)
    partner, internal = free_port(), free_port()
    site = render(
        TEMPLATE.read_text(),
        node_upstream=f"127.0.0.1:{upstream_port}",
        partner_listen=f"127.0.0.1:{partner}",
        internal_listen=f"127.0.0.1:{internal}",
        server_name="127.0.0.1",
        tls_cert=str(pki.cert),
        tls_key=str(pki.key),
        header_timeout=header_timeout,
        body_timeout="30s",
        agency_networks=str(agency_networks),
    )
    (folder / "baliza.conf").write_text(site)
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (folder / "nginx.conf").write_text(stock_nginx_conf(folder, folder / "baliza.conf", temp))
    # No -p prefix: the stock file loads modules by paths relative to the
    # package's own prefix (modules-enabled/*.conf).
    args = [nginx, "-e", str(folder / "error.log"), "-c"]
    args.append(str(folder / "nginx.conf"))
    check = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=30, check=False)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proxy = Proxy(partner_port=partner, internal_port=internal, folder=folder, process=process)
    for _ in range(200):  # bounded: nginx listens within milliseconds
        if process.poll() is not None:
            raise AssertionError(f"nginx exited: {proxy.error_log()}")
        try:
            socket.create_connection(("127.0.0.1", internal), timeout=1).close()
            socket.create_connection(("127.0.0.1", partner), timeout=1).close()
            return proxy
        except OSError:
            time.sleep(0.05)
    proxy.stop()
    raise AssertionError(f"nginx did not listen: {proxy.error_log()}")
