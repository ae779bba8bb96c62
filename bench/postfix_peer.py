"""A private Postfix instance on a loopback port, for benchmarks and
interop tests (see ../shared/PEERS.md).  Nothing here touches the system's
own Postfix configuration: everything lives in one temporary folder.
"""
import os
import shutil
import subprocess
import time


def stock_services():
    """The services of Debian's stock master.cf, one logical line each."""
    for path in ("/etc/postfix/master.cf.proto",
                 "/usr/share/postfix/master.cf.dist"):
        if os.path.exists(path):
            break
    entries = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0] in " \t" and entries:
                entries[-1] += " " + line.strip()
            else:
                entries.append(line)
    return [e for e in entries if len(e.split()) >= 8]


class PostfixPeer:
    """Postfix listening on 127.0.0.1:port, delivering to Maildir under
    DIR/vmail/inbox/ (virtual, fixed uid 65534), or relaying everything to
    relay_port when given."""

    def __init__(self, root, port, relay_port=None, sync=True):
        self.root = os.path.abspath(root)
        self.port = port
        self.relay_port = relay_port
        self.sync = sync
        self.maildir = os.path.join(self.root, "vmail", "inbox")

    def write_config(self):
        r = self.root
        for d in ("queue", "data", "vmail"):
            os.makedirs(os.path.join(r, d), exist_ok=True)
        os.chown(os.path.join(r, "vmail"), 65534, 65534)
        import pwd
        pf = pwd.getpwnam("postfix")
        os.chown(os.path.join(r, "data"), pf.pw_uid, pf.pw_gid)
        main = [
            "compatibility_level = 3.6",
            f"queue_directory = {r}/queue",
            f"data_directory = {r}/data",
            "inet_interfaces = 127.0.0.1",
            "inet_protocols = ipv4",
            "myhostname = postfix.bench.test",
            "mydestination =",
            "mynetworks = 127.0.0.0/8",
            f"maillog_file = {r}/maillog",
            f"maillog_file_prefixes = {r}",
            "smtpd_relay_restrictions = permit_mynetworks, reject",
            "smtp_dns_support_level = disabled",
            "biff = no",
            "smtpd_banner = $myhostname ESMTP",
            "default_process_limit = 100",
            "message_size_limit = 20480000",
            "smtputf8_enable = no",
        ]
        if self.relay_port:
            main.append(f"relayhost = [127.0.0.1]:{self.relay_port}")
            main.append("default_destination_concurrency_limit = 20")
        else:
            main += [
                "virtual_mailbox_domains = bench.test",
                f"virtual_mailbox_base = {r}/vmail",
                "virtual_mailbox_maps = static:inbox/",
                "virtual_uid_maps = static:65534",
                "virtual_gid_maps = static:65534",
                "virtual_destination_concurrency_limit = 20",
            ]
        with open(os.path.join(r, "main.cf"), "w") as f:
            f.write("\n".join(main) + "\n")
        lines = [f"127.0.0.1:{self.port} inet n - n - - smtpd"]
        for entry in stock_services():
            f = entry.split()
            if f[1] in ("unix", "unix-dgram") and f[0] != "postlog" \
                    and "pipe" not in f[7:8]:
                lines.append(entry)
        lines.append("postlog unix-dgram n - n - 1 postlogd")
        with open(os.path.join(r, "master.cf"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        self.write_config()
        subprocess.run(["postfix", "-c", self.root, "check"], check=False,
                       capture_output=True)
        subprocess.run(["postfix", "-c", self.root, "start"], check=True,
                       capture_output=True)
        deadline = time.time() + 30
        import socket
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1) as s:
                    if s.recv(100).startswith(b"220"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("postfix did not start; see " + self.root + "/maillog")

    def stop(self):
        subprocess.run(["postfix", "-c", self.root, "stop"],
                       capture_output=True)

    def delivered(self):
        n = 0
        for sub in ("new", "cur"):
            try:
                n += len(os.listdir(os.path.join(self.maildir, sub)))
            except FileNotFoundError:
                pass
        return n

    def queue_empty(self):
        for sub in ("incoming", "active", "deferred", "maildrop"):
            p = os.path.join(self.root, "queue", sub)
            for _, _, files in os.walk(p):
                if files:
                    return False
        return True

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
