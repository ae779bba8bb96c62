"""A raw SMTP client for the tests: send exact bytes, read replies as
(code, [lines]).  Its socket may be replaced by a TLS-wrapped one."""
import socket
import ssl


class Raw:
    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            got = self.sock.recv(65536)
            if not got:
                raise EOFError(f"connection closed; pending {self.buf!r}")
            self.buf += got
        ln, _, self.buf = self.buf.partition(b"\r\n")
        return ln.decode(errors="replace")

    def reply(self):
        lines = []
        while True:
            ln = self.line()
            lines.append(ln)
            if len(ln) < 4 or ln[3] != "-":
                return int(ln[:3]), lines

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def expect(self, text, code):
        got = self.cmd(text)
        assert got[0] == code, (text, got)
        return got[1][-1]

    def closed(self):
        """True when the server closed the connection (EOF)."""
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, ssl.SSLError):
            return True

    def close(self):
        self.sock.close()
