"""`ulak map`: building and querying lookup tables as postmap does."""
import os
import time


def write(path, text):
    path.write_text(text)
    return path


def test_hash_build_and_query(ulak, tmp_path):
    src = write(tmp_path / "transport",
                "# a comment\nexample.net  smtp:[relay.example.net]\n"
                "Example.ORG  local\nlong  first part\n  second part\n")
    r = ulak("map", f"hash:{src}")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "transport.db").is_file()
    r = ulak("map", "-q", "example.net", f"hash:{src}")
    assert (r.returncode, r.stdout) == (0, "smtp:[relay.example.net]\n")
    # Keys fold to lower case, in the file and in the query.
    r = ulak("map", "-q", "EXAMPLE.org", f"hash:{src}")
    assert (r.returncode, r.stdout) == (0, "local\n")
    r = ulak("map", "-q", "long", f"hash:{src}")
    assert r.returncode == 0
    assert r.stdout.split() == ["first", "part", "second", "part"]


def test_bare_file_means_hash(ulak, tmp_path):
    src = write(tmp_path / "t", "k v\n")
    assert ulak("map", src).returncode == 0
    assert (tmp_path / "t.db").is_file()
    r = ulak("map", "-q", "k", src)
    assert (r.returncode, r.stdout) == (0, "v\n")


def test_lmdb(ulak, tmp_path):
    src = write(tmp_path / "senders", "alice@example.test OK\n")
    r = ulak("map", f"lmdb:{src}")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "senders.lmdb").is_file()
    r = ulak("map", "-q", "alice@example.test", f"lmdb:{src}")
    assert (r.returncode, r.stdout) == (0, "OK\n")


def test_not_found_exit_status(ulak, tmp_path):
    src = write(tmp_path / "t", "k v\n")
    assert ulak("map", f"hash:{src}").returncode == 0
    r = ulak("map", "-q", "nope", f"hash:{src}")
    assert (r.returncode, r.stdout) == (1, "")


def test_texthash_needs_no_build(ulak, tmp_path):
    src = write(tmp_path / "th", "key value\n")
    r = ulak("map", "-q", "KEY", f"texthash:{src}")
    assert (r.returncode, r.stdout) == (0, "value\n")
    assert not (tmp_path / "th.db").exists()


def test_pcre_substitution(ulak, tmp_path):
    src = write(tmp_path / "r.pcre",
                "/^(.*)@example\\.test$/ local:$1\n/^postmaster@/ OK\n")
    r = ulak("map", "-q", "alice@example.test", f"pcre:{src}")
    assert (r.returncode, r.stdout) == (0, "local:alice\n")
    r = ulak("map", "-q", "bob@example.net", f"pcre:{src}")
    assert r.returncode == 1


def test_inline_and_static(ulak):
    r = ulak("map", "-q", "b", "inline:{ a=1, b=2 }")
    assert (r.returncode, r.stdout) == (0, "2\n")
    r = ulak("map", "-q", "anything", "static:fixed")
    assert (r.returncode, r.stdout) == (0, "fixed\n")


def test_query_keys_from_stdin(ulak, tmp_path):
    src = write(tmp_path / "t", "a 1\nb 2\n")
    assert ulak("map", src).returncode == 0
    r = ulak("map", "-q", "-", f"hash:{src}", input="a\nzz\nb\n")
    assert r.returncode == 0
    assert r.stdout == "a\t1\nb\t2\n"


def test_syntax_error_names_line_and_keeps_old_table(ulak, tmp_path):
    src = write(tmp_path / "re", "/ok/ 1\n/(unclosed/ 2\n")
    r = ulak("map", f"regexp:{src}")
    assert r.returncode == 1
    assert f"{src}, line 2" in r.stderr
    # A hash table with a bad line: the old built file stays.
    h = write(tmp_path / "h", "k v\n")
    assert ulak("map", h).returncode == 0
    write(h, "k v2\nkeyonly\n")
    r = ulak("map", h)
    assert r.returncode == 1
    assert f"{h}, line 2" in r.stderr
    assert ulak("map", "-q", "k", h).stdout == "v\n"


def test_show(ulak, tmp_path):
    src = write(tmp_path / "t", "b 2\na 1\n")
    assert ulak("map", src).returncode == 0
    r = ulak("map", "-s", f"hash:{src}")
    assert (r.returncode, r.stdout) == (0, "a\t1\nb\t2\n")
    r = ulak("map", "-s", "static:x")
    assert r.returncode == 2
    assert "cannot be listed" in r.stderr


def test_missing_table(ulak, tmp_path):
    r = ulak("map", "-q", "k", f"hash:{tmp_path}/none")
    assert r.returncode == 2
    assert "none" in r.stderr
    r = ulak("map", f"hash:{tmp_path}/none")
    assert r.returncode == 1
    r = ulak("map", "-q", "k", "nosuchtype:/x")
    assert r.returncode == 2
    assert "nosuchtype" in r.stderr


def test_usage(ulak):
    assert ulak("map").returncode == 2
    r = ulak("map", "-q")
    assert r.returncode == 2 and "needs an argument" in r.stderr


def make_stale(src, built):
    # The source one minute newer than its built file, both in the past.
    now = time.time()
    os.utime(built, (now - 120, now - 120))
    os.utime(src, (now - 60, now - 60))


def test_stale_table_warnings(instance):
    src = write(instance.dir / "transport", "example.net smtp:\n")
    assert instance.run("map", f"hash:{src}").returncode == 0
    instance.set(transport_maps=f"hash:{src}")
    r = instance.run("check")
    assert (r.returncode, r.stderr) == (0, "")
    make_stale(src, instance.dir / "transport.db")
    r = instance.run("check")
    assert r.returncode == 0, r.stderr  # a warning is not an error
    assert f"table hash:{src} is older than its source: run ulak map " \
        f"hash:{src}" in r.stderr
    assert "main.cf, line" in r.stderr
    q = instance.run("map", "-q", "example.net", f"hash:{src}")
    assert q.returncode == 0
    assert "older than its source" in q.stderr
    # Rebuilding clears it.
    assert instance.run("map", f"hash:{src}").returncode == 0
    r = instance.run("check")
    assert (r.returncode, r.stderr) == (0, "")


def test_default_database_type(instance):
    src = write(instance.dir / "senders", "a@example.test OK\n")
    instance.set(default_database_type="lmdb")
    r = instance.run("map", src)
    assert r.returncode == 0, r.stderr
    assert (instance.dir / "senders.lmdb").is_file()
    assert not (instance.dir / "senders.db").exists()
    r = instance.run("map", "-q", "a@example.test", src)
    assert (r.returncode, r.stdout) == (0, "OK\n")
