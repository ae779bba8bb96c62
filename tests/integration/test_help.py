"""Help: `ulak --help`, `ulak help CMD`, `ulak CMD --help` for every
command, usage errors, and docs/ulak.md kept in step with the help."""
import pytest

from conftest import SOURCE_DIR

COMMANDS = ["init", "conf", "map", "aliases", "check", "start", "stop",
            "reload", "status", "queue", "sendmail", "passwd", "dkim"]


def test_main_help(ulak):
    for args in (["--help"], ["-h"], ["help"]):
        r = ulak(*args)
        assert r.returncode == 0, args
        assert "SYNOPSIS" in r.stdout and "COMMANDS" in r.stdout
        for cmd in COMMANDS:
            assert f"    {cmd} " in r.stdout, cmd


@pytest.mark.parametrize("cmd", COMMANDS)
def test_command_help(ulak, cmd):
    r = ulak(cmd, "--help")
    assert r.returncode == 0, r.stderr
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS",
                    "EXIT STATUS"):
        assert f"\n{section}\n" in "\n" + r.stdout, section
    assert f"ulak {cmd}" in r.stdout
    assert r.stderr == ""
    r2 = ulak("help", cmd)
    assert (r2.returncode, r2.stdout) == (0, r.stdout)


@pytest.mark.parametrize("cmd", COMMANDS)
def test_docs_hold_the_help(ulak, cmd):
    doc = (SOURCE_DIR / "docs/ulak.md").read_text()
    r = ulak("help", cmd)
    assert r.stdout in doc, f"docs/ulak.md lacks the help of {cmd}"


def test_usage_errors(ulak):
    r = ulak()
    assert r.returncode == 2 and "usage: ulak" in r.stderr
    r = ulak("frobnicate")
    assert r.returncode == 2 and 'unknown command "frobnicate"' in r.stderr
    r = ulak("help", "frobnicate")
    assert r.returncode == 2
    r = ulak("--bogus")
    assert r.returncode == 2
    for cmd in ("check", "status", "start", "stop", "reload"):
        r = ulak(cmd, "--bogus")
        assert r.returncode == 2, cmd
        assert f"usage: ulak {cmd}" in r.stderr
        assert f"ulak help {cmd}" in r.stderr


def test_version(ulak):
    r = ulak("--version")
    assert r.returncode == 0 and r.stdout.startswith("ulak ")
