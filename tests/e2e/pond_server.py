"""Runs `pond serve` as a subprocess for the end-to-end tests.

The binary comes from the environment variable POND_BIN (ctest sets it to the
built `pond`). The server listens on 127.0.0.1 port 0; the port is learnt
from the line it prints ("pond listening on http://127.0.0.1:PORT"), read
from its stdout pipe with a deadline, so no test sleeps to wait for it.
The server's stderr (its JSON log) goes to a file that `PondTestCase`
prints when a test fails.

Storage backend: SQLite in the data directory, unless the environment
variable POND_TEST_PG_URL_FILE names a file holding a PostgreSQL URL (the
ctest fixture `pg`, tests/pg/pg_cluster.sh). Then every `pond ... --data DIR`
run through `PondServer` or `run_pond` also gets `--store URL`, the URL of a
database of DIR's own (`pond_` and a hash of DIR's absolute path): made empty
the first time this process uses DIR, the same one on every later use (a
restart on DIR finds its data), dropped when the test's temp dir is removed.
"""

import atexit
import hashlib
import http.client
import json as jsonlib
import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
REQUEST_TIMEOUT = 30.0

_LISTENING = re.compile(rb"pond listening on http://127\.0\.0\.1:(\d+)")


def pond_bin():
    """The pond executable under test (env POND_BIN, else build-e2e/pond)."""
    path = os.environ.get("POND_BIN")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "build-e2e", "pond")
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        raise RuntimeError("POND_BIN does not name an executable pond: " + path)
    return path


def run_pond(args, timeout=120, input_bytes=None):
    """Runs `pond ARGS...` to completion; returns CompletedProcess (stdout/stderr as bytes).

    Under PostgreSQL, `--data DIR` in ARGS is followed by DIR's `--store URL`.
    """
    return subprocess.run([pond_bin()] + with_store(args), input=input_bytes, capture_output=True,
                          timeout=timeout)


# -- storage backend ---------------------------------------------------------

PG_URL_FILE_ENV = "POND_TEST_PG_URL_FILE"
PSQL_TIMEOUT = 60.0

_pg_url = None
_pg_databases = {}  # absolute data dir -> database name, for the databases this process made


def pg_cluster_url():
    """The test cluster's URL when the tests run on PostgreSQL, else None (SQLite)."""
    global _pg_url
    path = os.environ.get(PG_URL_FILE_ENV)
    if not path:
        return None
    if _pg_url is None:
        try:
            with open(path, encoding="utf-8") as f:
                url = f.read().strip()
        except OSError as e:
            raise RuntimeError("%s=%s, but the cluster's URL cannot be read (did the ctest fixture pg_cluster_start "
                               "run?): %s" % (PG_URL_FILE_ENV, path, e))
        if not url.startswith(("postgresql://", "postgres://")):
            raise RuntimeError("%s names %s, which holds no postgresql:// URL: %r" % (PG_URL_FILE_ENV, path, url))
        _pg_url = url
    return _pg_url


def _url_with_database(url, database):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + database))


def _psql(sql):
    """Runs one SQL statement on the cluster's maintenance database."""
    env = dict(os.environ, PGCONNECT_TIMEOUT="10")
    p = subprocess.run(["psql", pg_cluster_url(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, timeout=PSQL_TIMEOUT, env=env, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError("psql %r failed (exit %d): %s" % (sql, p.returncode, p.stderr.decode("utf-8", "replace")))


def store_url(data_dir):
    """The `--store` URL for a data directory under PostgreSQL (None under SQLite).

    The database is made (empty) the first time this process asks for DIR: a
    database of the same name left by an earlier process belongs to an
    earlier temp dir that happened to have the same path, so it is dropped.
    """
    url = pg_cluster_url()
    if url is None:
        return None
    path = os.path.abspath(data_dir)
    name = _pg_databases.get(path)
    if name is None:
        name = "pond_" + hashlib.sha256(path.encode("utf-8")).hexdigest()[:16]
        _psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        _psql("CREATE DATABASE %s" % name)
        _pg_databases[path] = name
    return _url_with_database(url, name)


def store_args(data_dir):
    """The arguments that put `pond --data DIR` on the backend under test."""
    url = store_url(data_dir)
    return ["--store", url] if url else []


def with_store(args):
    """ARGS with DIR's store arguments after `--data DIR` (ARGS as they are under SQLite)."""
    args = list(args)
    if pg_cluster_url() is None or "--data" not in args:
        return args
    i = args.index("--data")
    if i + 1 >= len(args):
        return args  # a deliberately incomplete command line: leave it to pond to refuse
    return args[:i + 2] + store_args(args[i + 1]) + args[i + 2:]


def pg_dump(data_dir):
    """The SQL dump of DIR's database (PostgreSQL only): what the store holds."""
    url = store_url(data_dir)
    assert url, "pg_dump needs PostgreSQL (%s)" % PG_URL_FILE_ENV
    p = subprocess.run(["pg_dump", "--no-owner", url], capture_output=True, timeout=PSQL_TIMEOUT,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError("pg_dump failed (exit %d): %s" % (p.returncode, p.stderr.decode("utf-8", "replace")))
    return p.stdout


def drop_stores_under(root):
    """Drops the databases of the data directories under ROOT (PostgreSQL; a no-op under SQLite).

    Called when ROOT is removed, after its servers have stopped; FORCE ends
    the sessions of a killed server that the cluster has not noticed yet.
    A failure is reported, not raised: the cluster is thrown away anyway.
    """
    root = os.path.abspath(root)
    _drop_stores([path for path in _pg_databases if os.path.commonpath([root, path]) == root])


def _drop_stores(paths):
    for path in paths:
        name = _pg_databases.pop(path)
        try:
            _psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            print("warning: could not drop test database %s: %s" % (name, e))


@atexit.register
def _drop_remaining_stores():
    _drop_stores(list(_pg_databases))


class PondServer:
    """One `pond serve` process on a data directory."""

    def __init__(self, data_dir, log_dir=None, extra_args=(), listen="127.0.0.1:0"):
        self.data_dir = data_dir
        self.log_dir = log_dir or data_dir
        self.extra_args = list(extra_args)
        self.listen = listen
        self.proc = None
        self.port = None
        self.log_path = None
        self._log_file = None
        self._stdout_thread = None
        self._starts = 0

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        """Starts the server and returns once it has printed its address."""
        assert self.proc is None, "already running"
        self._starts += 1
        self.log_path = os.path.join(self.log_dir, "pond-serve-%d.log" % self._starts)
        self._log_file = open(self.log_path, "ab")
        # Under PostgreSQL the server is one node named after its directory,
        # as an operator names a node: a restart (on another port) is the
        # same node and takes its tenants back at once, lease or not.
        node = ["--node", "e2e-" + hashlib.sha256(os.path.abspath(self.data_dir).encode()).hexdigest()[:12]]
        own_store = "--store" in self.extra_args  # a test that brings its own database
        args = ([pond_bin(), "serve", "--data", self.data_dir] + ([] if own_store else store_args(self.data_dir)) +
                (node if pg_cluster_url() and "--node" not in self.extra_args else []) +
                ["--listen", self.listen] + self.extra_args)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._log_file,
                                     stdin=subprocess.DEVNULL)
        try:
            self.port = self._read_port()
        except Exception:
            self.kill()
            raise
        # Keep draining stdout so the server can never block on a full pipe.
        self._stdout_thread = threading.Thread(target=self._drain_stdout, args=(self.proc.stdout,),
                                               daemon=True)
        self._stdout_thread.start()
        return self

    def _read_port(self):
        deadline = time.monotonic() + START_TIMEOUT
        out = self.proc.stdout
        fd = out.fileno()
        seen = b""
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                m = _LISTENING.search(seen)
                if m and b"\n" in seen[m.end():]:
                    return int(m.group(1))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError("pond serve did not print its address within %.0f s; stdout so far: %r; "
                                       "log:\n%s" % (START_TIMEOUT, seen, self.log_text()))
                if not sel.select(timeout=left):
                    continue
                chunk = os.read(fd, 4096)
                if not chunk:
                    code = self.proc.wait(timeout=STOP_TIMEOUT)
                    raise RuntimeError("pond serve exited (code %s) before listening; stdout: %r; log:\n%s" %
                                       (code, seen, self.log_text()))
                seen += chunk

    def _drain_stdout(self, pipe):
        try:
            while True:
                chunk = os.read(pipe.fileno(), 4096)
                if not chunk:
                    return
                if self._log_file and not self._log_file.closed:
                    self._log_file.write(b"[stdout] " + chunk)
                    self._log_file.flush()
        except (OSError, ValueError):
            return

    def _finish(self):
        if self._stdout_thread:
            self._stdout_thread.join(timeout=STOP_TIMEOUT)
            self._stdout_thread = None
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        if self._log_file:
            self._log_file.close()
            self._log_file = None
        code = self.proc.returncode if self.proc else None
        self.proc = None
        self.port = None
        return code

    def stop(self):
        """SIGTERM, then waits (bounded) for a clean exit; returns the exit code."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
            self._finish()
            raise RuntimeError("pond serve did not stop within %.0f s of SIGTERM" % STOP_TIMEOUT)
        return self._finish()

    def kill(self):
        """SIGKILL: a crash, with whatever requests are in flight."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=STOP_TIMEOUT)
        return self._finish()

    def restart(self):
        """Clean stop and start on the same data directory."""
        code = self.stop()
        self.start()
        return code

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def all_logs(self):
        out = []
        for i in range(1, self._starts + 1):
            path = os.path.join(self.log_dir, "pond-serve-%d.log" % i)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    out.append("--- %s ---\n%s" % (path, f.read().decode("utf-8", "replace")))
        return "\n".join(out)

    # -- requests ----------------------------------------------------------

    def connection(self, timeout=REQUEST_TIMEOUT):
        assert self.port, "server not running"
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None):
        """One request on a fresh connection: (status, headers, body_bytes).

        Header names are lower-cased. A dict or list body is sent as JSON, a
        str as UTF-8, bytes as they are.
        """
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = jsonlib.dumps(body, ensure_ascii=False).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def json(self, method, path, body=None, headers=None):
        """Like request; returns (status, parsed JSON body or None, headers)."""
        status, hdrs, data = self.request(method, path, body, headers)
        parsed = jsonlib.loads(data.decode("utf-8")) if data else None
        return status, parsed, hdrs

    def ingest(self, tenant, events, as_array=False, headers=None):
        """POSTs events (dicts or raw str lines) as ndjson or a JSON array."""
        headers = dict(headers or {})
        if as_array:
            body = jsonlib.dumps(events, ensure_ascii=False)
            headers.setdefault("Content-Type", "application/json")
        else:
            lines = [e if isinstance(e, str) else jsonlib.dumps(e, ensure_ascii=False) for e in events]
            body = "\n".join(lines) + "\n"
            headers.setdefault("Content-Type", "application/x-ndjson")
        return self.json("POST", "/api/v1/tenants/%s/events" % tenant, body, headers)


def lifecycle_stage(order_dates, today):
    """CONTRACT.md's lifecycle rule, literally: the model tests compare with."""
    if not order_dates:
        return "intro"
    dates = sorted(order_dates)
    d = (today - dates[-1]).days
    n = sum(1 for x in dates if (today - x).days < 365)
    if d <= 90 and len(dates) >= 2 and (dates[-1] - dates[-2]).days > 180:
        return "won_back"
    if d <= 90 and n >= 3:
        return "mature"
    if d <= 90:
        return "growth"
    return "decline" if d <= 180 else "lost"


def ndjson(events):
    return "".join(jsonlib.dumps(e, ensure_ascii=False) + "\n" for e in events)


class PondTestCase(unittest.TestCase):
    """A TestCase with a temp dir, and server logs printed when a test fails."""

    servers = ()  # the servers whose logs to print on failure (class or instance)

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        self._test_servers = []
        self._tempdirs = []
        try:
            return super().run(result)
        finally:
            # Logs live in the temp dirs, so print them before removing those.
            if len(result.failures) + len(result.errors) > before:
                for server in list(type(self).servers) + self._test_servers:
                    print("\n===== pond server log (%s) =====\n%s" % (self.id(), server.all_logs()))
            for path in self._tempdirs:
                drop_stores_under(path)
                shutil.rmtree(path, True)

    def make_tempdir(self):
        """A temp dir removed after the test (and after its logs are printed)."""
        path = tempfile.mkdtemp(prefix="pond-e2e-")
        self._tempdirs.append(path)
        return path

    def start_server(self, data_dir=None, extra_args=(), listen="127.0.0.1:0"):
        """A server for this test only, killed at cleanup if still running."""
        data_dir = data_dir or os.path.join(self.make_tempdir(), "data")
        server = PondServer(data_dir, log_dir=os.path.dirname(data_dir), extra_args=extra_args, listen=listen)
        self._test_servers.append(server)
        self.addCleanup(server.kill)
        server.start()
        return server

    def create_tenant(self, server, tenant, timezone=None):
        body = {"id": tenant, "name": "Tenant " + tenant}
        if timezone:
            body["timezone"] = timezone
        status, obj, _ = server.json("POST", "/api/v1/tenants", body)
        self.assertEqual(status, 201, obj)
        self.assertEqual(obj["id"], tenant)
        return obj

    def assert_healthy(self, server):
        self.assertTrue(server.alive(), "pond serve exited")
        status, obj, _ = server.json("GET", "/healthz")
        self.assertEqual(status, 200, obj)
        self.assertEqual(obj["status"], "ok")


class SharedServerTestCase(PondTestCase):
    """A TestCase class whose tests share one server on a fresh data dir."""

    temp_prefix = "pond-e2e-"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix=cls.temp_prefix)
        cls.server = PondServer(os.path.join(cls.tmp, "data"), log_dir=cls.tmp)
        cls.servers = [cls.server]
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        try:
            # Exit status is not the subject here (test_cli covers SIGTERM).
            cls.server.stop()
        finally:
            cls.server.kill()  # a no-op after a clean stop; frees the database after a failed one
            drop_stores_under(cls.tmp)
            shutil.rmtree(cls.tmp, True)
