"""`ulak check`: a clean instance passes; each problem is reported with
its file and line and makes the exit status 1."""
import re
import shutil


def append(inst, text):
    with open(inst.config, "a") as f:
        f.write(text)
    return len(inst.config.read_text().splitlines())


def test_clean_instance_passes(instance):
    r = instance.run("check")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


def test_bad_line(instance):
    n = append(instance, "this line has no equals sign\n")
    r = instance.run("check")
    assert r.returncode == 1
    assert f"ulak check: error: {instance.config}, line {n}:" in r.stderr


def test_bad_value(instance):
    n = append(instance, "message_size_limit = lots\n")
    r = instance.run("check")
    assert r.returncode == 1
    assert re.search(rf"error: {re.escape(str(instance.config))}, line {n}: "
                     r".*message_size_limit", r.stderr)


def test_expansion_loop(instance):
    append(instance, "myorigin = $myloop\nmyloop = $myorigin\n")
    r = instance.run("check")
    assert r.returncode == 1
    assert "main.cf, line" in r.stderr


def test_missing_table(instance):
    n = append(instance, f"transport_maps = hash:{instance.dir}/nosuch\n")
    r = instance.run("check")
    assert r.returncode == 1
    assert (f"{instance.config}, line {n}: transport_maps: cannot open "
            f"table hash:{instance.dir}/nosuch") in r.stderr


def test_table_with_syntax_error(instance):
    rules = instance.dir / "header_checks.pcre"
    rules.write_text("/^Subject: ok/ DUNNO\n/(unclosed/ REJECT\n")
    append(instance, f"header_checks = pcre:{rules}\n")
    r = instance.run("check")
    assert r.returncode == 1
    assert f"{rules}, line 2" in r.stderr


def test_restriction_table(instance):
    n = append(instance, "smtpd_recipient_restrictions = "
               f"check_recipient_access hash:{instance.dir}/access, "
               "permit_mynetworks, reject_unauth_destination\n")
    r = instance.run("check")
    assert r.returncode == 1
    assert (f"line {n}: smtpd_recipient_restrictions: cannot open table "
            f"hash:{instance.dir}/access") in r.stderr
    (instance.dir / "access").write_text("spam@example.net REJECT\n")
    assert instance.run("map", instance.dir / "access").returncode == 0
    r = instance.run("check")
    assert (r.returncode, r.stderr) == (0, "")


def test_not_a_table(instance):
    append(instance, "transport_maps = /no/type/given\n")
    r = instance.run("check")
    assert r.returncode == 1
    assert "is not a table" in r.stderr


def test_unknown_name_is_a_warning(instance):
    n = append(instance, "mispelled_name = 1\n")
    r = instance.run("check")
    assert r.returncode == 0
    assert f"warning: {instance.config}, line {n}:" in r.stderr
    assert "mispelled_name" in r.stderr


def test_missing_folders(instance):
    shutil.rmtree(instance.dir / "queue/deferred")
    shutil.rmtree(instance.dir / "data")
    r = instance.run("check")
    assert r.returncode == 1
    assert f"folder {instance.dir}/queue/deferred is missing" in r.stderr
    assert f"folder {instance.dir}/data is missing" in r.stderr
    assert re.search(r"main\.cf, line \d+: queue_directory", r.stderr)


def test_missing_tls_key(instance):
    (instance.dir / "tls/key.pem").unlink()
    r = instance.run("check")
    assert r.returncode == 1
    assert "smtpd_tls_key_file" in r.stderr


def test_stale_aliases(instance):
    import os
    import time
    src = instance.dir / "aliases"
    now = time.time()
    os.utime(instance.dir / "aliases.db", (now - 120, now - 120))
    os.utime(src, (now - 60, now - 60))
    r = instance.run("check")
    assert r.returncode == 0
    assert "is older than its source: run ulak aliases" in r.stderr
    assert instance.run("aliases").returncode == 0
    assert instance.run("check").stderr == ""


def test_missing_main_cf(ulak, tmp_path):
    r = ulak("-c", tmp_path, "check")
    assert r.returncode == 1
    assert "main.cf" in r.stderr


def test_master_cf_problem(instance):
    with open(instance.dir / "master.cf", "a") as f:
        f.write("broken inet n\n")
    n = len((instance.dir / "master.cf").read_text().splitlines())
    r = instance.run("check")
    assert r.returncode == 1
    assert f"master.cf, line {n}" in r.stderr


def test_mail_owner_must_exist_as_root(instance):
    import os
    import pytest
    if os.geteuid() != 0:
        pytest.skip("mail_owner is only checked when run as root")
    instance.set(mail_owner="no_such_user_here")
    r = instance.run("check")
    assert r.returncode == 1
    assert 'mail_owner: user "no_such_user_here" does not exist' in r.stderr
