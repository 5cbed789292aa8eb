# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""A private OpenSSH sshd on a loopback port, for SFTP tests.

SshdFixture starts the system's /usr/sbin/sshd as the current user with
everything it needs in one temporary directory: a generated host key, a
generated user key (plus a second key that is *not* authorized, for
authentication-failure tests), authorized_keys, the pid file and its own
sshd_config (UsePAM no, StrictModes no, public keys only, internal-sftp
only). Nothing outside that directory is read or changed, except: when the
current user is root and /run/sshd (sshd's privilege-separation directory) is
missing, sshd is started inside a private mount namespace with a tmpfs on
/run, so the directory exists for sshd alone and the system is untouched.

Usage (Python standard library only):

    with SshdFixture() as s:
        s.url()            # sftp://user@127.0.0.1:PORT/<root>
        s.fingerprint      # host key SHA-256, base64 without "SHA256:"
        s.env()            # ROSTERD_TEST_SFTP_* variables for C tests

Files uploaded over SFTP appear under s.root, a local directory.
"""

import base64
import ctypes
import getpass
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

SSHD = os.environ.get("ROSTERD_SSHD", "/usr/sbin/sshd")
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
PRIVSEP_DIR = "/run/sshd"

# Options newer sshd versions understand and older ones reject. They are
# tried first and dropped when `sshd -t` calls them bad, so repeated failed
# logins in negative tests never get the test client penalised (9.8+).
OPTIONAL_OPTIONS = ["PerSourcePenalties no"]


class SshdError(RuntimeError):
    pass


def available():
    """True when sshd and ssh-keygen are installed."""
    return os.access(SSHD, os.X_OK) and os.access(SSH_KEYGEN, os.X_OK)


def free_port():
    """A loopback TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fingerprint_of(pub_path):
    """SHA-256 fingerprint of an OpenSSH public key file, base64 without
    padding or "SHA256:" prefix: what `ssh-keygen -lf` prints and what
    libcurl's CURLOPT_SSH_HOST_PUBLIC_KEY_SHA256 takes."""
    with open(pub_path, "r", encoding="ascii") as f:
        blob = base64.b64decode(f.read().split()[1])
    return base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _die_with_parent():
    """preexec_fn: have the kernel send SIGTERM to sshd when the process that
    started it dies, so a killed test run leaves no sshd behind."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _keygen(path, key_type, comment):
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", key_type, "-N", "", "-C", comment, "-f", path],
        check=True, stdin=subprocess.DEVNULL, capture_output=True)


class SshdFixture:
    """One private sshd. start() / stop(), or use it as a context manager."""

    def __init__(self, key_type="ed25519", host="127.0.0.1"):
        self.key_type = key_type
        self.host = host
        self.user = getpass.getuser()
        self.port = None
        self.proc = None
        self.tmp = None
        self.root = None
        self.key_path = None
        self.pubkey_path = None
        self.other_key_path = None
        self.host_key_path = None
        self.fingerprint = None
        self.config_path = None
        self.log_path = None

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        if not available():
            raise SshdError("%s or %s is not installed (Debian: openssh-server, "
                            "openssh-client)" % (SSHD, SSH_KEYGEN))
        self.tmp = tempfile.mkdtemp(prefix="rosterd-sshd-")
        try:
            self._make_keys()
            self.root = os.path.join(self.tmp, "root")
            os.mkdir(self.root, 0o700)
            self.log_path = os.path.join(self.tmp, "sshd.log")
            last = None
            for _ in range(5):  # another process may grab the port first
                self.port = free_port()
                self._write_config()
                try:
                    self._spawn()
                    return self
                except SshdError as e:
                    last = e
                    self._kill()
            raise last
        except BaseException:
            self.stop()
            raise

    def stop(self):
        """Stop sshd (SIGTERM, then SIGKILL) and remove the directory."""
        self._kill()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def _kill(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    # -- what tests use ----------------------------------------------------

    def url(self, path=None):
        """sftp:// URL of path (default: the remote root directory)."""
        return "sftp://%s@%s:%d%s" % (self.user, self.host, self.port,
                                      path if path is not None else self.root)

    def env(self):
        """Environment variables read by tests/unit/test_xfer_sftp.c."""
        return {
            "ROSTERD_TEST_SFTP_HOST": self.host,
            "ROSTERD_TEST_SFTP_PORT": str(self.port),
            "ROSTERD_TEST_SFTP_USER": self.user,
            "ROSTERD_TEST_SFTP_KEY": self.key_path,
            "ROSTERD_TEST_SFTP_PUBKEY": self.pubkey_path,
            "ROSTERD_TEST_SFTP_OTHER_KEY": self.other_key_path,
            "ROSTERD_TEST_SFTP_FINGERPRINT": self.fingerprint,
            "ROSTERD_TEST_SFTP_ROOT": self.root,
        }

    def log(self):
        """sshd's log so far (for failure messages)."""
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except (OSError, TypeError):
            return ""

    # -- internals ---------------------------------------------------------

    def _make_keys(self):
        self.host_key_path = os.path.join(self.tmp, "ssh_host_key")
        self.key_path = os.path.join(self.tmp, "id_user")
        self.pubkey_path = self.key_path + ".pub"
        self.other_key_path = os.path.join(self.tmp, "id_other")
        _keygen(self.host_key_path, self.key_type, "rosterd-test-host")
        _keygen(self.key_path, self.key_type, "rosterd-test-user")
        _keygen(self.other_key_path, self.key_type, "rosterd-test-other")
        shutil.copyfile(self.pubkey_path,
                        os.path.join(self.tmp, "authorized_keys"))
        self.fingerprint = fingerprint_of(self.host_key_path + ".pub")

    def _config_lines(self):
        t = self.tmp
        return [
            "ListenAddress %s:%d" % (self.host, self.port),
            "HostKey %s" % self.host_key_path,
            "PidFile %s" % os.path.join(t, "sshd.pid"),
            "AuthorizedKeysFile %s" % os.path.join(t, "authorized_keys"),
            "AllowUsers %s" % self.user,
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "AuthenticationMethods publickey",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "UseDNS no",
            "PrintMotd no",
            "AllowTcpForwarding no",
            "X11Forwarding no",
            "MaxStartups 100",
            "MaxSessions 100",
            "LogLevel VERBOSE",
            "Subsystem sftp internal-sftp",
            "ForceCommand internal-sftp",
        ]

    def _write_config(self):
        self.config_path = os.path.join(self.tmp, "sshd_config")
        lines = self._config_lines()
        self._save_config(lines + OPTIONAL_OPTIONS)
        check = subprocess.run(self._argv(["-t"]), capture_output=True,
                               text=True, stdin=subprocess.DEVNULL)
        if check.returncode != 0 and "Bad configuration option" in check.stderr:
            self._save_config(lines)

    def _save_config(self, lines):
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def _argv(self, extra):
        argv = [SSHD, "-f", self.config_path] + extra
        if os.geteuid() == 0 and not os.path.isdir(PRIVSEP_DIR):
            # Give sshd a /run/sshd of its own instead of creating one.
            script = ('mount -t tmpfs -o mode=0755 rosterd-sshd /run && '
                      'mkdir -m 0755 %s && exec "$@"' % PRIVSEP_DIR)
            argv = ["unshare", "--mount", "--propagation", "private",
                    "sh", "-c", script, "sh"] + argv
        return argv

    def _spawn(self):
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(self._argv(["-D", "-e"]),
                                         stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log,
                                         preexec_fn=_die_with_parent)
        finally:
            log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SshdError("sshd exited with status %d:\n%s"
                                % (self.proc.returncode, self.log()))
            if self._banner():
                return
            time.sleep(0.05)
        raise SshdError("sshd did not accept on %s:%d within %.0f s:\n%s"
                        % (self.host, self.port, START_TIMEOUT, self.log()))

    def _banner(self):
        try:
            with socket.create_connection((self.host, self.port), 1.0) as s:
                s.settimeout(2.0)
                return s.recv(64).startswith(b"SSH-2.0-")
        except OSError:
            return False


if __name__ == "__main__":
    # Manual use: print the parameters and keep sshd up until Ctrl-C or
    # SIGTERM.
    def _interrupt(signum, frame):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, _interrupt)
    with SshdFixture() as fx:
        for k, v in sorted(fx.env().items()):
            print("%s=%s" % (k, v))
        print("URL=%s" % fx.url(), flush=True)
        try:
            while fx.proc.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
