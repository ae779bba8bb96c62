"""`ulak aliases` (newaliases): building and querying the alias database."""
import os


def test_init_aliases_query(instance):
    for name in ("postmaster", "root", "abuse", "MAILER-DAEMON",
                 "Postmaster"):
        r = instance.run("aliases", "-q", name)
        assert (r.returncode, r.stdout) == (0, "demo\n"), (name, r.stderr)
    r = instance.run("aliases", "-q", "nobody-here")
    assert (r.returncode, r.stdout) == (1, "")


def test_rebuild_after_edit(instance):
    with open(instance.dir / "aliases", "a") as f:
        f.write("info: demo,\n   alice@example.org\n"
                'log: "|/usr/bin/logger -t mail"\n')
    r = instance.run("aliases")
    assert r.returncode == 0, r.stderr
    r = instance.run("aliases", "-q", "info")
    assert (r.returncode, r.stdout) == (0, "demo, alice@example.org\n")
    r = instance.run("aliases", "-q", "log")
    assert r.returncode == 0
    assert "|/usr/bin/logger -t mail" in r.stdout


def test_query_named_file(instance):
    r = instance.run("aliases", "-q", "root", f"hash:{instance.dir}/aliases")
    assert (r.returncode, r.stdout) == (0, "demo\n")
    r = instance.run("aliases", "-q", "root", instance.dir / "aliases")
    assert (r.returncode, r.stdout) == (0, "demo\n")


def test_build_named_file(ulak, tmp_path):
    src = tmp_path / "my-aliases"
    src.write_text("staff: a, b\n")
    r = ulak("aliases", src)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "my-aliases.db").is_file()
    r = ulak("aliases", "-q", "staff", src)
    assert (r.returncode, r.stdout) == (0, "a, b\n")


def test_syntax_error_keeps_old_database(instance):
    path = instance.dir / "aliases"
    with open(path, "a") as f:
        f.write("newname: demo\nthis line has no colon\n")
    n = len(path.read_text().splitlines())
    r = instance.run("aliases")
    assert r.returncode == 1
    assert f"{path}, line {n}" in r.stderr
    # The old database still answers, without the new entry.
    assert instance.run("aliases", "-q", "postmaster").stdout == "demo\n"
    assert instance.run("aliases", "-q", "newname").returncode == 1


def test_called_as_newaliases(instance, tmp_path):
    link = tmp_path / "newaliases"
    os.symlink(instance.bin, link)
    with open(instance.dir / "aliases", "a") as f:
        f.write("sales: demo\n")
    from conftest import run_ulak
    r = run_ulak(link, env={"ULAK_CONFIG_DIR": str(instance.dir)})
    assert r.returncode == 0, r.stderr
    assert instance.run("aliases", "-q", "sales").stdout == "demo\n"


def test_sendmail_and_mailq_by_name(instance, tmp_path):
    from conftest import run_ulak
    env = {"ULAK_CONFIG_DIR": str(instance.dir)}
    link = tmp_path / "mailq"
    os.symlink(instance.bin, link)
    r = run_ulak(link, env=env)
    assert r.returncode == 0, r.stderr
    assert "Mail queue is empty" in r.stdout
    # Called as sendmail it submits into maildrop/ (test_sendmail.py has
    # the details).
    link = tmp_path / "sendmail"
    os.symlink(instance.bin, link)
    r = run_ulak(link, "-t", input="Subject: x\n\nbody\n", env=env)
    assert r.returncode == 67, r.stderr
    r = run_ulak(link, "-t", input="To: someone@example.test\n\nbody\n",
                 env=env)
    assert r.returncode == 0, r.stderr
    maildrop = instance.dir / "queue" / "maildrop"
    assert len([p for p in maildrop.iterdir()
                if not p.name.startswith(".")]) == 1
