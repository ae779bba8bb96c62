"""`ulak init`: the instance it writes, its options and its refusals."""
import os
import re
import ssl
import stat
import warnings

import pytest

from conftest import PORT_OFFSETS, free_port_base, run_ulak

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # removed in Python 3.13; the hash check is skipped then
except ImportError:  # pragma: no cover
    crypt = None


def read_main_cf(path):
    """name -> value of a main.cf without continuation lines."""
    values = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, value = line.partition("=")
        values[name.strip()] = value.strip()
    return values


def expected_ids():
    """uid, gid of the mail users: the invoking user's, or as root those
    of mail_owner "ulak" when that user exists."""
    import pwd
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("ulak")
            return pw.pw_uid, pw.pw_gid
        except KeyError:
            pass
    return os.getuid(), os.getgid()


def users_lines(inst):
    return [l for l in (inst.dir / "users").read_text().splitlines() if l]


def check_hash(hashed, password):
    assert hashed.startswith("$y$"), hashed
    if crypt is None:
        pytest.skip("Python's crypt module is not available")
    assert crypt.crypt(password, hashed) == hashed
    assert crypt.crypt(password + "x", hashed) != hashed


def test_files_written(instance):
    d = instance.dir
    for f in ("main.cf", "master.cf", "aliases", "aliases.db", "users",
              "tls/cert.pem", "tls/key.pem"):
        assert (d / f).is_file(), f
    for sub in ("maildrop", "incoming", "active", "deferred", "hold",
                "corrupt", "private", "pid"):
        assert (d / "queue" / sub).is_dir(), sub
    for sub in ("log", "data", "home/demo/Maildir/cur",
                "home/demo/Maildir/new", "home/demo/Maildir/tmp"):
        assert (d / sub).is_dir(), sub
    assert stat.S_IMODE((d / "tls/key.pem").stat().st_mode) == 0o600


def test_main_cf_values(instance):
    d = str(instance.dir)
    v = read_main_cf(instance.config)
    want = {
        "config_directory": d,
        "queue_directory": d + "/queue",
        "data_directory": d + "/data",
        "myhostname": "mail.example.test",
        "mydomain": "example.test",
        "inet_interfaces": "127.0.0.1",
        "maillog_file": d + "/log/ulak.log",
        "alias_maps": f"hash:{d}/aliases",
        "alias_database": f"hash:{d}/aliases",
        "local_user_maps": f"passwd-file:{d}/users",
        "local_recipient_maps": "$local_user_maps $alias_maps",
        "smtpd_sasl_password_maps": f"passwd-file:{d}/users",
        "home_mailbox": "Maildir/",
        "smtpd_tls_cert_file": d + "/tls/cert.pem",
        "smtpd_tls_key_file": d + "/tls/key.pem",
    }
    for name, value in want.items():
        assert v.get(name) == value, name
    if os.geteuid() != 0:
        import pwd
        assert v["mail_owner"] == pwd.getpwuid(os.geteuid()).pw_name
    else:
        assert v["mail_owner"] == "ulak"
    # Nothing points outside the instance folder.
    for name, value in v.items():
        for path in re.findall(r"(?:^|[\s:,])(/[^\s,]+)", value):
            assert path.startswith(d), (name, value)


def test_master_cf_listeners(instance):
    text = (instance.dir / "master.cf").read_text()
    services = {}
    for line in text.splitlines():
        if not line or line[0] in "# \t":
            continue
        cols = line.split()
        services[cols[0]] = cols
    for name, off in PORT_OFFSETS.items():
        key = f"127.0.0.1:{instance.base + off}"
        assert key in services, (name, key)
        assert services[key][1] == "inet"
    # Only loopback listeners.
    for key, cols in services.items():
        if cols[1] == "inet":
            assert key.startswith("127.0.0.1:"), key


def test_users_file(instance):
    lines = users_lines(instance)
    assert len(lines) == 1
    f = lines[0].split(":")
    assert len(f) == 7
    assert f[0] == "demo"
    uid, gid = expected_ids()
    assert (f[2], f[3]) == (str(uid), str(gid))
    home = instance.dir / "home/demo/Maildir/new"
    assert (home.stat().st_uid, home.stat().st_gid) == (uid, gid)
    assert f[4] == ""
    assert f[5] == str(instance.dir / "home/demo")
    assert f[6] == "/bin/false"
    check_hash(f[1], instance.password)


def test_users_table_lookup(instance):
    r = instance.run("map", "-q", "demo",
                     f"passwd-file:{instance.dir}/users")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("demo:$y$")


def test_tls_certificate(instance):
    cert = ssl._ssl._test_decode_cert(str(instance.dir / "tls/cert.pem"))
    assert ("DNS", "mail.example.test") in cert["subjectAltName"]
    subject = dict(x[0] for x in cert["subject"])
    assert subject["commonName"] == "mail.example.test"
    # About ten years.
    not_after = ssl.cert_time_to_seconds(cert["notAfter"])
    not_before = ssl.cert_time_to_seconds(cert["notBefore"])
    assert 9.9 * 365 * 86400 < not_after - not_before < 10.1 * 365 * 86400
    # The key matches the certificate.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(instance.dir / "tls/cert.pem",
                        instance.dir / "tls/key.pem")


def test_default_user_gets_printed_password(ulak, tmp_path):
    r = ulak("init", tmp_path / "i", "--ports", free_port_base())
    assert r.returncode == 0, r.stderr
    m = re.search(r"user demo@example.test, password: (\S+)", r.stdout)
    assert m, r.stdout
    password = m.group(1)
    assert len(password) >= 12
    line = (tmp_path / "i/users").read_text().splitlines()[0]
    check_hash(line.split(":")[1], password)


def test_options(ulak, tmp_path):
    base = free_port_base()
    folder = tmp_path / "x"
    r = ulak("init", folder, "--domain", "example.org", "--ports", base,
             "--user", "alice:s3cret pass", "--user", "bob")
    assert r.returncode == 0, r.stderr
    v = read_main_cf(folder / "main.cf")
    assert v["myhostname"] == "mail.example.org"
    assert v["mydomain"] == "example.org"
    lines = (folder / "users").read_text().splitlines()
    assert [l.split(":")[0] for l in lines] == ["alice", "bob"]
    check_hash(lines[0].split(":")[1], "s3cret pass")
    # bob's password was made up and printed; alice's was not.
    assert "user bob@example.org, password: " in r.stdout
    assert "s3cret" not in r.stdout
    assert (folder / "home/bob/Maildir/new").is_dir()
    assert f"127.0.0.1:{base + 25} " in (folder / "master.cf").read_text()
    # Role aliases go to the first user.
    q = ulak("-c", folder, "aliases", "-q", "postmaster")
    assert q.returncode == 0 and q.stdout == "alice\n", q.stderr
    cert = ssl._ssl._test_decode_cert(str(folder / "tls/cert.pem"))
    assert ("DNS", "mail.example.org") in cert["subjectAltName"]


def test_refuses_non_empty_folder(ulak, tmp_path):
    folder = tmp_path / "used"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine\n")
    r = ulak("init", folder)
    assert r.returncode == 1
    assert "not empty" in r.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]
    assert (folder / "keep.txt").read_text() == "mine\n"


def test_empty_existing_folder_is_fine(ulak, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    r = ulak("init", folder, "--ports", free_port_base())
    assert r.returncode == 0, r.stderr
    assert (folder / "main.cf").is_file()


def test_relative_folder_becomes_absolute(ulak_bin, tmp_path):
    import subprocess
    r = subprocess.run([str(ulak_bin), "init", "rel"], cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    v = read_main_cf(tmp_path / "rel/main.cf")
    assert v["config_directory"] == str((tmp_path / "rel").resolve())


@pytest.mark.parametrize("args,what", [
    (["--domain", "bad domain"], "bad domain"),
    (["--domain", "-x.test"], "bad domain"),
    (["--ports", "70000"], "bad port base"),
    (["--ports", "12x"], "bad port base"),
    (["--user", "Bad:pw"], "bad or repeated user"),
    (["--user", "a/b"], "bad or repeated user"),
    (["--user", "x", "--user", "x"], "bad or repeated user"),
    (["--bogus"], "unknown option"),
])
def test_bad_arguments(ulak, tmp_path, args, what):
    folder = tmp_path / "never"
    r = ulak("init", folder, *args)
    assert r.returncode == 2, r.stderr
    assert what in r.stderr
    assert "usage: ulak init" in r.stderr
    assert not folder.exists()


def test_no_folder(ulak):
    r = ulak("init")
    assert r.returncode == 2
    assert "usage: ulak init" in r.stderr
