"""Every user's random password (DESIGN section 1): 32 random bytes, of which only a hash
is kept; the plaintext is never stored, logged, shown or posted.

Why SHA-256 and not a password-hashing function. Slow, salted functions (argon2id,
scrypt, bcrypt) protect secrets that people choose, which an attacker can guess: each
guess must cost. These secrets are 256 bits from `secrets`: nobody can guess one, so a
stolen hash is only as useful as its preimage, and SHA-256 has no known preimage attack
(GitHub and others keep API tokens the same way). A salt is for repeated or guessable
inputs; a 256-bit random secret is neither. So a hash costs microseconds, and creating
10,000 users costs their rows, not 10,000 key-stretching runs (about 0.1 s each with
argon2id on this project's machines).

Hashes stored before this change are argon2id (`$argon2id$...`); `verify` still accepts
them, so nothing stored becomes invalid. New hashes read `sha256$<64 hex digits>`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "sha256$"
SECRET_BYTES = 32  # 256 bits; DESIGN asks for at least 128


def random_password() -> str:
    """A new user's password: never shown, never stored, only hashed."""
    return secrets.token_urlsafe(SECRET_BYTES)


class RandomSecretHasher:
    """Hashes random secrets (SHA-256) and verifies both these and older argon2id hashes."""

    def hash(self, password: str) -> str:
        return PREFIX + hashlib.sha256(password.encode()).hexdigest()

    def verify(self, stored: str, password: str) -> bool:
        if stored.startswith(PREFIX):
            return hmac.compare_digest(stored, self.hash(password))
        if stored.startswith("$argon2"):
            from argon2 import PasswordHasher
            from argon2.exceptions import InvalidHashError, VerificationError

            try:
                return PasswordHasher().verify(stored, password)
            except (VerificationError, InvalidHashError):
                return False
        return False
