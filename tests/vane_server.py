"""Starting and stopping a real `vane serve` on loopback, shared by the Python suites
(tests/conformance and tests/browser put this folder on sys.path).

`ServerProcess` runs the binary on its own data dir and a free 127.0.0.1 port, waits for
`GET /health` = 200, and can be stopped, killed and started again on the same data dir (the log
file is appended to, one section per start).

With VANE_TEST_STORE=postgres every server runs on PostgreSQL instead: a fresh database on one
throwaway server per test session (scripts/pg-temp; VANE_TEST_DATABASE_URL names a server of your
own). `ServerProcess(..., database_url=…)` puts several nodes on one database.
"""
import os
import pathlib
import signal
import socket
import subprocess
import threading
import time
import uuid

import requests

REPO = pathlib.Path(__file__).resolve().parent.parent


def binary_path():
    """$VANE_BIN (relative paths from the repository root), else the debug build."""
    p = pathlib.Path(os.environ.get("VANE_BIN") or (REPO / ".build" / "debug" / "vane"))
    return p if p.is_absolute() else (REPO / p)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class StartupError(AssertionError):
    pass


# Every node of a cluster seals integration secrets with the same key.
TEST_SECRETS_KEY = "dGVzdC1zZWNyZXRzLWtleS0zMi1ieXRlcy1sb25nISE="
_pg_lock = threading.Lock()
_pg_admin = None


def store_mode():
    return os.environ.get("VANE_TEST_STORE", "sqlite")


def postgres_admin_url():
    """The URL of the session's PostgreSQL server (started on first use, stopped when this process exits)."""
    global _pg_admin
    with _pg_lock:
        if _pg_admin is None:
            given = os.environ.get("VANE_TEST_DATABASE_URL")
            if given:
                _pg_admin = given
            else:
                out = subprocess.run([str(REPO / "scripts" / "pg-temp"), "start", "--owner", str(os.getpid())],
                                     check=True, capture_output=True, text=True)
                _pg_admin = out.stdout.strip()
        return _pg_admin


def fresh_database_url():
    """A new empty database on the session's PostgreSQL server."""
    admin = postgres_admin_url()
    name = "t_" + uuid.uuid4().hex[:20]
    subprocess.run(["psql", admin, "-q", "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE %s" % name],
                   check=True, capture_output=True, text=True)
    return admin.rsplit("/", 1)[0] + "/" + name


class ServerProcess:
    def __init__(self, binary, data_dir, *, server_secret, client_key, console_key, segment_write_key=None,
                 log_path=None, log_level=None, port=None, extra_args=(), database_url=None):
        self.binary = str(binary)
        if database_url is None and store_mode() == "postgres":
            database_url = fresh_database_url()
        self.database_url = database_url
        self.data_dir = pathlib.Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.keys = {"VANE_SERVER_SECRET": server_secret, "VANE_CLIENT_KEY": client_key, "VANE_CONSOLE_KEY": console_key}
        if segment_write_key:
            self.keys["VANE_SEGMENT_WRITE_KEY"] = segment_write_key
        self.log_level = log_level
        self.extra_args = list(extra_args)
        self.port = port or free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.log_path = pathlib.Path(log_path) if log_path else self.data_dir.parent / ("%s-server.log" % self.data_dir.name)
        self.proc = None
        self.starts = 0
        self._log = None

    @property
    def command(self):
        cmd = [self.binary, "serve", "--data-dir", str(self.data_dir), "--host", "127.0.0.1", "--port", str(self.port)]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        return cmd + (["--log-level", self.log_level] if self.log_level else []) + self.extra_args

    def start(self, timeout=30.0):
        """Starts the server and waits until it is healthy; StartupError (with the log tail) if not."""
        if not pathlib.Path(self.binary).exists():
            raise StartupError("Vane server binary not found at %s. Build it first (swift build) or set VANE_BIN "
                               "to the path of the `vane` executable." % self.binary)
        if not os.access(self.binary, os.X_OK):
            raise StartupError("Vane server binary %s is not executable." % self.binary)
        env = dict(os.environ, TZ="UTC")
        env.pop("VANE_SEGMENT_WRITE_KEY", None)
        env.pop("VANE_DATABASE_URL", None)
        if self.database_url:
            env.setdefault("VANE_SECRETS_KEY", TEST_SECRETS_KEY)
        env.update(self.keys)
        self._log = open(self.log_path, "ab")
        self._log.write(("\n=== start %d: %s\n" % (self.starts + 1, " ".join(self.command))).encode())
        self._log.flush()
        self.proc = subprocess.Popen(self.command, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     cwd=str(self.data_dir))
        self.starts += 1
        deadline = time.time() + timeout
        last = None
        while True:
            if self.proc.poll() is not None:
                self._close_log()
                raise StartupError("vane exited with code %s during startup.\ncommand: %s\n--- server log tail ---\n%s"
                                   % (self.proc.returncode, " ".join(self.command), self.log_tail()))
            try:
                r = requests.get(self.base + "/health", timeout=2)
                if r.status_code == 200:
                    return self
                last = "HTTP %d: %s" % (r.status_code, r.text[:200])
            except requests.RequestException as e:
                last = repr(e)
            if time.time() > deadline:
                self.kill()
                raise StartupError("vane did not answer GET /health with 200 within %ds (last: %s).\ncommand: %s\n"
                                   "--- server log tail ---\n%s" % (timeout, last, " ".join(self.command), self.log_tail()))
            time.sleep(0.1)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL: no graceful shutdown, nothing flushed that was not already committed."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(15)
        self._close_log()

    def stop(self):
        """SIGTERM (graceful shutdown), SIGKILL after 15 s."""
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._close_log()

    def _close_log(self):
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines=60):
        try:
            text = self.log_path.read_bytes().decode("utf-8", "replace").splitlines()
        except OSError as e:
            return "<no server log: %s>" % e
        return "\n".join(text[-lines:])
