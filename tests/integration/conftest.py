"""Shared fixtures of the integration tests.

Binaries come from $ULAK_BUILD_DIR (absolute path of a meson build folder,
default /work/main/build-check): the admin command is $ULAK_BUILD_DIR/ulak,
each daemon $ULAK_BUILD_DIR/<name>.

Fixtures:
  ulak_bin     path of the ulak command (pathlib.Path)
  build_dir    the build folder (pathlib.Path)
  ulak         run(*args, **kw) -> CompletedProcess: the ulak command with
               any arguments, text mode, output captured, never raising
  free_port_base()  a BASE such that BASE + 25, 110, 143, 465, 587, 993 and
               995 are all free on 127.0.0.1 (a plain function)
  instance     a fresh instance written by `ulak init` into tmp_path, on
               free ports; see Instance.
  running      the same, started with `ulak start` (stopped afterwards)
"""
import os
import pathlib
import random
import secrets
import socket
import subprocess

import pytest

from conftest_dns import dns  # noqa: F401  (the test DNS server fixture)

BUILD_DIR = pathlib.Path(os.environ.get("ULAK_BUILD_DIR",
                                        "/work/main/build-check"))
SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]

# The listeners of an instance, as offsets from its port base.
PORT_OFFSETS = {"smtp": 25, "submission": 587, "submissions": 465,
                "pop3": 110, "imap": 143, "pop3s": 995, "imaps": 993}


def free_port_base(tries=200):
    """A port base whose seven listener ports are all free on loopback.
    Below the kernel's ephemeral range (32768 up): the ports are only
    checked here and bound later by `ulak start`, so they must not be
    handed out meanwhile to a socket bound to port 0 (test servers,
    outgoing connections).  The test DNS server keeps below 10000."""
    rng = random.Random()
    for _ in range(tries):
        base = rng.randrange(10000, 31700, 10)
        socks = []
        try:
            for off in PORT_OFFSETS.values():
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind(("127.0.0.1", base + off))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port base found on 127.0.0.1")


def run_ulak(binary, *args, input=None, env=None, timeout=60):
    """Run the ulak command; never raises on a non-zero exit."""
    full_env = dict(os.environ)
    full_env.pop("ULAK_CONFIG_DIR", None)
    if env:
        full_env.update(env)
    return subprocess.run([str(binary), *map(str, args)], input=input,
                          capture_output=True, text=True, env=full_env,
                          timeout=timeout)


class Instance:
    """An instance written by `ulak init`.

    dir       the instance folder (pathlib.Path, absolute)
    config    its main.cf
    base      the port base; ports: {"smtp": base+25, ...}
    domain    the mail domain; hostname mail.<domain>
    user, password   the mail user (demo) and its password
    bin       the ulak command
    """

    def __init__(self, binary, folder, base, domain, user, password):
        self.bin = binary
        self.dir = folder
        self.config = folder / "main.cf"
        self.base = base
        self.ports = {k: base + v for k, v in PORT_OFFSETS.items()}
        self.domain = domain
        self.hostname = "mail." + domain
        self.user = user
        self.password = password

    def run(self, *args, input=None, env=None, timeout=60):
        """`ulak -c DIR ARGS...` as a CompletedProcess (text)."""
        return run_ulak(self.bin, "-c", self.dir, *args, input=input,
                        env=env, timeout=timeout)

    def conf(self, name):
        """The expanded value of main.cf parameter NAME."""
        r = self.run("conf", "-h", "-x", name)
        assert r.returncode == 0, r.stderr
        return r.stdout.rstrip("\n")

    def start(self, timeout=20):
        """`ulak start`, then wait until the SMTP listener answers."""
        r = self.run("start")
        assert r.returncode == 0, f"ulak start failed:\n{r.stdout}\n{r.stderr}"
        self.wait_port(self.ports["smtp"], timeout)

    def stop(self):
        """`ulak stop` (ignores an instance that is not running)."""
        return self.run("stop")

    def wait_port(self, port, timeout=20):
        """Poll until 127.0.0.1:PORT accepts a connection."""
        import time
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), 1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"port {port} did not open; log:\n{self.log()}")
                time.sleep(0.05)

    def log(self):
        """The instance's log file, or "" when there is none yet."""
        try:
            return (self.dir / "log" / "ulak.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def set(self, **params):
        """`ulak conf -e name=value...`."""
        r = self.run("conf", "-e", *[f"{k}={v}" for k, v in params.items()])
        assert r.returncode == 0, r.stderr


@pytest.fixture(scope="session")
def build_dir():
    if not (BUILD_DIR / "ulak").exists():
        pytest.fail(f"{BUILD_DIR}/ulak not found: build first, or set "
                    "ULAK_BUILD_DIR to an absolute build folder")
    return BUILD_DIR


@pytest.fixture(scope="session")
def ulak_bin(build_dir):
    return build_dir / "ulak"


@pytest.fixture
def ulak(ulak_bin):
    def run(*args, **kw):
        return run_ulak(ulak_bin, *args, **kw)
    return run


def open_path_for_daemons(path):
    """As root the daemons run as mail_owner (ulak): let it traverse the
    temporary folders pytest makes 0700 (/tmp/pytest-of-root/...)."""
    if os.geteuid() != 0:
        return
    p = pathlib.Path(path).resolve()
    for parent in [p, *p.parents]:
        if str(parent) in ("/", "/tmp"):
            break
        mode = parent.stat().st_mode & 0o777
        if mode & 0o011 != 0o011:
            parent.chmod(mode | 0o011)


@pytest.fixture
def daemon_tmp(tmp_path):
    """A fresh folder the daemons can reach, removed after the test.

    Not under tmp_path: pytest keeps /tmp/pytest-of-USER at mode 0700 and
    resets it whenever a pytest session starts, and as root the daemons
    run as mail_owner, which must traverse to the instance."""
    import shutil
    import tempfile
    top = pathlib.Path(tempfile.mkdtemp(prefix="ulak-test-"))
    top.chmod(0o755)
    (tmp_path / "instance").symlink_to(top)
    yield top
    shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def instance(ulak_bin, daemon_tmp):
    top = daemon_tmp
    inst = None
    try:
        inst = _instance(ulak_bin, top)
        yield inst
    finally:
        if inst is not None:
            inst.stop()      # in case the test started it and failed


def _instance(ulak_bin, tmp_path):
    base = free_port_base()
    folder = tmp_path / "inst"
    password = secrets.token_urlsafe(12)
    r = run_ulak(ulak_bin, "init", folder, "--ports", base,
                 "--user", f"demo:{password}")
    assert r.returncode == 0, f"ulak init failed:\n{r.stdout}\n{r.stderr}"
    return Instance(ulak_bin, folder.resolve(), base, "example.test", "demo",
                    password)


@pytest.fixture
def running(instance):
    """An instance started with `ulak start`; stopped after the test."""
    instance.start()
    yield instance
    instance.stop()
