"""`ulak conf`: showing and editing main.cf as postconf does."""
import re


def lines(text):
    return [l for l in text.splitlines() if l]


def test_defaults(instance):
    r = instance.run("conf", "-d", "message_size_limit", "myorigin",
                     "queue_directory")
    assert r.returncode == 0, r.stderr
    out = lines(r.stdout)
    assert out[0].startswith("message_size_limit = ")
    assert out[1] == "myorigin = $myhostname"
    # -d ignores main.cf: the compiled-in queue folder, not the instance's.
    assert out[2] != f"queue_directory = {instance.dir}/queue"


def test_defaults_do_not_need_main_cf(ulak, tmp_path):
    r = ulak("-c", tmp_path / "nothing", "conf", "-d")
    assert r.returncode == 0, r.stderr
    names = [l.split(" =")[0] for l in lines(r.stdout)]
    assert len(names) > 100
    assert names == sorted(names)
    assert "alias_maps" in names and "smtpd_tls_cert_file" in names


def test_all_parameters_overlaid(instance):
    r = instance.run("conf")
    assert r.returncode == 0, r.stderr
    out = lines(r.stdout)
    assert len(out) > 100
    assert f"queue_directory = {instance.dir}/queue" in out
    assert "mydomain = example.test" in out
    d = instance.run("conf", "-d")
    assert len(lines(d.stdout)) == len(out)


def test_changed_only(instance):
    r = instance.run("conf", "-n")
    assert r.returncode == 0, r.stderr
    out = lines(r.stdout)
    names = [l.split(" =")[0] for l in out]
    assert names == sorted(names)
    assert "mydomain = example.test" in out
    assert "myorigin = $mydomain" in out
    assert "message_size_limit" not in names
    set_in_file = {l.split("=")[0].strip()
                   for l in instance.config.read_text().splitlines()
                   if l and l[0] not in "# \t"}
    assert set(names) == set_in_file


def test_named_and_expanded(instance):
    r = instance.run("conf", "myorigin", "mydestination")
    assert r.returncode == 0, r.stderr
    assert lines(r.stdout) == [
        "myorigin = $mydomain",
        "mydestination = $myhostname, localhost.$mydomain, localhost, "
        "$mydomain"]
    r = instance.run("conf", "-x", "myorigin", "mydestination")
    assert lines(r.stdout) == [
        "myorigin = example.test",
        "mydestination = mail.example.test, localhost.example.test, "
        "localhost, example.test"]
    r = instance.run("conf", "-h", "-x", "local_recipient_maps")
    assert r.stdout == (f"passwd-file:{instance.dir}/users "
                        f"hash:{instance.dir}/aliases\n")


def test_empty_value_prints_name_equals(instance):
    r = instance.run("conf", "relayhost")
    assert r.returncode == 0
    assert r.stdout == "relayhost =\n"


def test_unknown_parameter(instance):
    r = instance.run("conf", "myorigin", "no_such_parameter")
    assert r.returncode == 0
    assert r.stdout == "myorigin = $mydomain\n"
    assert "ulak conf: warning: no_such_parameter: unknown parameter" \
        in r.stderr


def test_edit_keeps_comments_and_order(instance):
    text = instance.config.read_text()
    text = text.replace("mydomain = example.test",
                        "# my own note\nmydomain = example.test")
    text += "message_size_limit = 1000\n    2000\n"
    instance.config.write_text(text)
    before = instance.config.read_text().splitlines()
    r = instance.run("conf", "-e", "mydomain=example.org",
                     "relayhost = [smtp.example.net]:587",
                     "message_size_limit=30000000")
    assert r.returncode == 0, r.stderr
    after = instance.config.read_text().splitlines()
    # Every comment is still there, in the same order.
    assert [l for l in before if l.lstrip().startswith("#")] == \
        [l for l in after if l.lstrip().startswith("#")]
    assert "mydomain = example.org" in after
    assert after.index("mydomain = example.org") == \
        before.index("mydomain = example.test")
    assert after[-1] == "relayhost = [smtp.example.net]:587"
    assert "    2000" not in after
    assert instance.conf("message_size_limit") == "30000000"
    assert instance.conf("myorigin") == "example.org"


def test_edit_unknown_name_warns(instance):
    r = instance.run("conf", "-e", "my_own_thing=1")
    assert r.returncode == 0
    assert "unknown parameter" in r.stderr
    assert "my_own_thing = 1" in instance.config.read_text()


def test_edit_bad_argument(instance):
    before = instance.config.read_text()
    r = instance.run("conf", "-e", "novalue")
    assert r.returncode == 1
    assert "expected name=value" in r.stderr
    r = instance.run("conf", "-e", "bad name=1")
    assert r.returncode == 1
    assert instance.config.read_text() == before


def test_usage_errors(instance):
    r = instance.run("conf", "-d", "-n")
    assert r.returncode == 2
    r = instance.run("conf", "-e")
    assert r.returncode == 2
    r = instance.run("conf", "-q")
    assert r.returncode == 2 and "usage: ulak conf" in r.stderr


def test_missing_main_cf(ulak, tmp_path):
    r = ulak("-c", tmp_path, "conf", "-n")
    assert r.returncode == 1
    assert "main.cf" in r.stderr


def test_environment_names_the_folder(ulak, instance):
    r = ulak("conf", "-h", "mydomain",
             env={"ULAK_CONFIG_DIR": str(instance.dir)})
    assert r.returncode == 0, r.stderr
    assert r.stdout == "example.test\n"


def test_syntax_warning_names_file_and_line(instance):
    with open(instance.config, "a") as f:
        f.write("mispeled_parameter = 1\n")
    n = len(instance.config.read_text().splitlines())
    r = instance.run("conf", "-n")
    assert r.returncode == 0
    assert re.search(rf"main\.cf, line {n}: .*mispeled_parameter", r.stderr)
