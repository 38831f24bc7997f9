"""A platform's token signing keys: one active, older ones kept until their tokens expire.

Rotation adds a key and makes it active; tokens signed with the previous key stay valid
until they expire, so rotating never logs anyone out. Keys survive restarts on disk.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class SigningKey:
    kid: str
    secret: str  # hex
    created: float

    @property
    def key(self) -> bytes:
        return bytes.fromhex(self.secret)


def _new_key() -> SigningKey:
    return SigningKey(kid=secrets.token_hex(8), secret=secrets.token_hex(32), created=time.time())


class Keyring:
    def __init__(self, path: Path, token_ttl_seconds: int) -> None:
        self._path = path
        self._ttl = token_ttl_seconds
        self._keys: list[SigningKey] = []
        if path.exists():
            self._keys = [SigningKey(**k) for k in json.loads(path.read_text())]
        if not self._keys:
            self._keys = [_new_key()]
            self._save()

    @property
    def active(self) -> SigningKey:
        return self._keys[-1]

    def find(self, kid: str) -> SigningKey | None:
        return next((k for k in self._keys if k.kid == kid), None)

    def kids(self) -> list[str]:
        return [k.kid for k in self._keys]

    def rotate(self) -> SigningKey:
        self._keys.append(_new_key())
        self._prune()
        self._save()
        return self.active

    def _prune(self) -> None:
        # A key retired at time T signed its last token at T; that token expires at T + ttl.
        now = time.time()
        kept = [
            key
            for key, successor in zip(self._keys, self._keys[1:], strict=False)
            if successor.created + self._ttl > now
        ]
        self._keys = [*kept, self.active]

    def _save(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps([asdict(k) for k in self._keys]))
        tmp.chmod(0o600)
        tmp.replace(self._path)
