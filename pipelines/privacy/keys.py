"""The pseudonymisation key: read from an environment variable or a key file, never written anywhere."""

from __future__ import annotations

import os
from pathlib import Path

from fhirmony.config import PrivacyConfig

MIN_KEY_BYTES = 16


class MissingKeyError(RuntimeError):
    """No usable pseudonymisation key; the message says where one was looked for (never its value)."""


def load_key(config: PrivacyConfig, environ: dict[str, str] | None = None) -> bytes:
    """The key from `config.key_file` when set, else from the variable `config.key_env`.

    Surrounding whitespace is stripped. A missing, empty or short (< 16 bytes) key raises
    `MissingKeyError`; the key itself is never logged, returned in a message, or copied to outputs.
    """
    env = os.environ if environ is None else environ
    if config.key_file is not None:
        path = Path(config.key_file)
        if not path.is_file():
            raise MissingKeyError(
                f"privacy.key_file {path} does not exist: create it with a random secret of at least "
                f"{MIN_KEY_BYTES} bytes (e.g. `python -c 'import secrets; print(secrets.token_hex(32))' > {path}`)"
            )
        key = path.read_bytes().strip()
        where = f"key file {path}"
    else:
        key = env.get(config.key_env, "").strip().encode("utf-8")
        where = f"environment variable {config.key_env}"
        if not key:
            raise MissingKeyError(
                f"no pseudonymisation key: set the environment variable {config.key_env} to a random "
                f"secret of at least {MIN_KEY_BYTES} bytes, or set privacy.key_file in fhirmony.yaml. "
                "Keep it: the same key gives the same pseudonyms in the next release."
            )
    if len(key) < MIN_KEY_BYTES:
        raise MissingKeyError(f"the pseudonymisation key in {where} is shorter than {MIN_KEY_BYTES} bytes")
    return key
