"""A scriptable SMTP server for tests of the smtp delivery agent.

    sink = Sink("127.0.0.2", port)             # or port=0: pick a free one
    sink.rcpt_reply = lambda addr: "550 5.1.1 no such user" if ... else None
    sink.start()
    ... sink.messages -> [Message(mail_from, rcpts, data, params...)]
    sink.stop()

Knobs (attributes, set before the session they affect):
    greeting       the banner line(s) ("220 ..."), or None: never greet
    ehlo           extension lines after the first EHLO line
    ehlo_reply     a whole reply to EHLO instead ("502 5.5.1 no")
    mail_reply(sender_line) / rcpt_reply(rcpt_line) / data_reply /
    dot_reply      return None for the default 250/354, or a reply
    silent_after   a command verb ("DATA", "MAIL", ...) after which the
                   server never answers again
    drop_in_data   close the connection after this many body bytes
    endless_reply  a verb whose reply is a multi-line reply that never ends
    tls_context    an ssl.SSLContext: offer STARTTLS
    hold_data      a threading.Event: after 354, read nothing of the
                   content until it is set (at most 60 s): a slow reader
    pipelining     offer PIPELINING (default yes)
The server records every session's commands in .commands (a list of lists).
"""
import socket
import ssl
import threading


class Message:
    def __init__(self):
        self.mail_from = None
        self.rcpts = []
        self.data = b""
        self.tls = None       # protocol version when over TLS
        self.helo = None


class Sink:
    def __init__(self, host="127.0.0.1", port=0):
        self.host = host
        self.port = port
        self.greeting = "220 sink.test ESMTP"
        self.ehlo = ["PIPELINING", "SIZE 10240000", "8BITMIME", "DSN",
                     "SMTPUTF8", "ENHANCEDSTATUSCODES"]
        self.ehlo_reply = None
        self.mail_reply = lambda line: None
        self.rcpt_reply = lambda line: None
        self.data_reply = None
        self.dot_reply = None
        self.silent_after = None
        self.drop_in_data = None
        self.endless_reply = None
        self.tls_context = None
        self.hold_data = None
        self.messages = []
        self.commands = []
        self.sessions = 0
        self._sock = None
        self._threads = []
        self._stop = False
        self._conns = []
        self.lock = threading.Lock()

    def start(self):
        s = socket.socket(socket.AF_INET6 if ":" in self.host
                          else socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.host, self.port))
        s.listen(50)
        self.port = s.getsockname()[1]
        self._sock = s
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self):
        self._stop = True
        try:
            self._sock.close()
        except OSError:
            pass
        with self.lock:
            for c in self._conns:
                try:
                    c.close()
                except OSError:
                    pass

    def _accept(self):
        while not self._stop:
            try:
                c, _ = self._sock.accept()
            except OSError:
                return
            with self.lock:
                self._conns.append(c)
                self.sessions += 1
            t = threading.Thread(target=self._session, args=(c,),
                                 daemon=True)
            t.start()

    def _session(self, conn):
        try:
            self._converse(conn)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _converse(self, conn):
        cmds = []
        with self.lock:
            self.commands.append(cmds)
        f = conn.makefile("rb")
        silent = False
        tls = None

        def send(text):
            if not silent:
                conn.sendall(text.encode() + b"\r\n")

        if self.greeting is None:
            while conn.recv(4096):
                pass
            return
        send(self.greeting)
        msg = Message()
        while True:
            line = f.readline(4096)
            if not line:
                return
            cmd = line.rstrip(b"\r\n").decode("utf-8", "replace")
            cmds.append(cmd)
            verb = cmd.split(" ", 1)[0].split(":", 1)[0].upper()
            if self.endless_reply == verb:
                try:
                    while True:
                        conn.sendall(b"250-more and more\r\n" * 100)
                except OSError:
                    return
            if verb in ("EHLO", "HELO"):
                msg.helo = cmd[5:]
                if self.ehlo_reply and verb == "EHLO":
                    send(self.ehlo_reply)
                else:
                    ext = list(self.ehlo) if verb == "EHLO" else []
                    if self.tls_context is not None and tls is None:
                        ext.append("STARTTLS")
                    lines = ["sink.test"] + ext
                    for i, l in enumerate(lines):
                        sep = " " if i == len(lines) - 1 else "-"
                        send(f"250{sep}{l}")
            elif verb == "STARTTLS":
                send("220 2.0.0 Ready to start TLS")
                conn = self.tls_context.wrap_socket(conn, server_side=True)
                tls = conn.version()
                f = conn.makefile("rb")
            elif verb == "MAIL":
                msg = Message()
                msg.tls = tls
                msg.mail_from = cmd[5:]
                send(self.mail_reply(cmd) or "250 2.1.0 Ok")
            elif verb == "RCPT":
                r = self.rcpt_reply(cmd)
                if r is None:
                    msg.rcpts.append(cmd[5:])
                send(r or "250 2.1.5 Ok")
            elif verb == "DATA":
                if self.silent_after == "DATA":
                    silent = True
                if not msg.rcpts:
                    send("554 5.5.1 no valid recipients")
                    continue
                send(self.data_reply or "354 End data with <CR><LF>.<CR><LF>")
                if self.data_reply:
                    continue
                if self.hold_data is not None:
                    self.hold_data.wait(60)
                lines, size = [], 0
                while True:
                    l = f.readline(100000)
                    if not l:
                        return
                    if l == b".\r\n":
                        break
                    lines.append(l)
                    size += len(l)
                    if self.drop_in_data is not None and \
                            size >= self.drop_in_data:
                        conn.shutdown(socket.SHUT_RDWR)
                        return
                # Undo dot-stuffing.
                msg.data = b"".join(
                    x[1:] if x.startswith(b".") else x
                    for x in b"".join(lines).splitlines(keepends=True))
                if self.silent_after == "DOT":
                    silent = True
                r = self.dot_reply
                if r is None or not r.startswith("2"):
                    pass
                if r is None or r.startswith("2"):
                    with self.lock:
                        self.messages.append(msg)
                send(r or f"250 2.0.0 Ok: queued as SINK{len(self.messages)}")
            elif verb == "RSET":
                msg = Message()
                if self.silent_after == "RSET":
                    silent = True
                send("250 2.0.0 Ok")
            elif verb == "QUIT":
                send("221 2.0.0 Bye")
                return
            else:
                send("502 5.5.2 Error: command not recognized")
            if self.silent_after == verb:
                silent = True
