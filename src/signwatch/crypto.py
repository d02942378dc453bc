"""Encryption at rest of tenant API keys (Fernet), keyed by SIGNWATCH_SECRET_KEY or a 0600 key file."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)
KEY_FILE_NAME = "signwatch.key"


class SecretBox:
    """Encrypts and decrypts small secrets with one Fernet key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_passphrase(cls, passphrase: str) -> SecretBox:
        """A Fernet key as given, or one derived from any other string by SHA-256."""
        raw = passphrase.encode()
        try:
            if len(base64.urlsafe_b64decode(raw)) == 32:
                return cls(raw)
        except ValueError:
            pass
        return cls(base64.urlsafe_b64encode(hashlib.sha256(raw).digest()))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("cannot decrypt: the secret key differs from the one that encrypted it") from exc


def kept_secret(store: Any, box: SecretBox, name: str) -> str:
    """A random secret generated once per installation and kept encrypted in the store's meta table (the
    notification signing key, the export URL key): every process of the installation reads the same one."""
    return box.decrypt(store.set_meta_default(name, box.encrypt(secrets.token_urlsafe(32))))


def key_file_for(db_url: str) -> Path:
    """Where the generated key lives: beside the SQLite file, else in the working directory."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / KEY_FILE_NAME
    return Path.cwd() / KEY_FILE_NAME


def load_box(secret_key: str | None, db_url: str) -> SecretBox:
    """The SecretBox in force: from SIGNWATCH_SECRET_KEY, else from (or into) a 0600 key file, with a warning."""
    if secret_key:
        return SecretBox.from_passphrase(secret_key)
    path = key_file_for(db_url)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
        log.warning("SIGNWATCH_SECRET_KEY is not set: generated key file %s (mode 0600); back it up", path)
    return SecretBox(path.read_bytes().strip())
