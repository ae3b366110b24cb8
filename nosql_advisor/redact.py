"""Nothing secret leaves: URIs shown without their credentials, URIs read from the environment
or a file, driver messages scrubbed, and the per-run key of the value hashes used for joins.

A URI is shown in error lines, progress, and every report form, so one redactor serves them all.
It assumes nothing of the password: users paste passwords holding `/`, `@`, `:`, `?` or `#`
unescaped, so the credentials end at the last `@` that is followed by a host list, not at the
first `/` (which is what the driver does, and why its messages can echo a password's tail).
Over-redacting (a host hidden) is acceptable; showing any part of a password is not.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from datetime import datetime
from functools import cache, partial
from itertools import repeat
from operator import methodcaller
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from bson import ObjectId

from nosql_advisor.errors import InputError

MASK = "***"
# what reads as a URI here: any case, and `mongodb:/...` typos too (then taken for a path, and
# shown in a "no such file" line that must not show the password either)
SCHEME = re.compile(r"^(mongodb(?:\+srv)?:/*)", re.I)
HOSTS = re.compile(r"^[A-Za-z0-9._~%\-:,\[\]]+$")  # what may follow the credentials' `@`
HOST_PORTS = re.compile(r"^(?:[A-Za-z0-9._~%\-]+|\[[0-9A-Fa-f:.]+\])(?::\d+)?"
                        r"(?:,(?:[A-Za-z0-9._~%\-]+|\[[0-9A-Fa-f:.]+\])(?::\d+)?)*$")
# option names whose value is a credential: tlsCertificateKeyFilePassword, sslPEMKeyPassword,
# proxyPassword, and any name of that kind a driver adds
SECRET_OPTION = re.compile(r"pass|pwd|secret|token|credential", re.I)
# authMechanismProperties keys whose values are not secret; every other value is masked
PLAIN_PROPERTIES = {"SERVICE_NAME", "CANONICALIZE_HOST_NAME", "SERVICE_REALM", "SERVICE_HOST",
                    "ENVIRONMENT", "TOKEN_RESOURCE"}
FRAGMENT = re.compile(r"[/@:?#,&;=%]")
MIN_FRAGMENT = 2  # password pieces at least this long are scrubbed from driver messages
ENV_PREFIX, FILE_PREFIX = "env:", "file:"


def split_credentials(uri: str) -> tuple[str, str | None, str | None, str]:
    """(scheme, user, password, rest after the credentials' `@`). user and password are None
    when the URI has none; they are as typed (percent-escapes kept)."""
    match = SCHEME.match(uri)
    if not match:
        return "", None, None, uri
    scheme, body = match.group(1), uri[match.end():]
    at = _credentials_end(body)
    if at is None:
        return scheme, None, None, body
    user, colon, password = body[:at].partition(":")
    return scheme, user, password if colon else None, body[at + 1:]


def _credentials_end(body: str) -> int | None:
    """Index of the `@` that ends the credentials: the last one whose next part (up to `/` or
    `?`) reads as a host list. A password may hold `@host/db?k=v` itself, so no earlier `@` is
    safe to choose; an `@` inside an option value (`appname=me@corp`) then hides the hosts too,
    which is the safe way to be wrong. None when there are no credentials; the end of `body`
    when no host list follows any `@` (all of it is then treated as credentials)."""
    ats = [i for i, char in enumerate(body) if char == "@"]
    for at in reversed(ats):
        hosts = re.split(r"[/?]", body[at + 1:], maxsplit=1)[0]
        if hosts and HOSTS.match(hosts):
            return at
    if not ats or HOST_PORTS.match(re.split(r"[/?]", body, maxsplit=1)[0]):
        return None  # it starts with a host list: an `@` only in the database or an option value
    return len(body) - 1  # no host list anywhere: all of it may be credentials


def redact_uri(uri: str) -> str:
    """The URI with its password and every credential-bearing option replaced by `***`: safe
    for messages, logs and reports. Options are masked first, on the whole URI, so a value
    holding `@` or `/` cannot pass for credentials or hosts."""
    if not SCHEME.match(uri):
        return uri
    masked = "".join(text if value is None else _masked_value(name, value) for text, name, value in _option_parts(uri))
    scheme, user, password, rest = split_credentials(masked)
    if user is not None and not rest:
        return scheme + MASK  # no host list after the credentials: show none of it
    credentials = "" if user is None else (user + (f":{MASK}" if password is not None else "") + "@")
    return scheme + credentials + rest


# an option starts at `?`, `&` or `;` followed by `name=`; a name that is neither a driver option
# nor credential-like is taken as part of the value before it (a raw `&` inside a password)
OPTION_START = re.compile(r"[?&;]([A-Za-z][A-Za-z0-9_.]*)=")


@cache
def _known_options() -> frozenset[str]:
    from pymongo.common import URI_OPTIONS_ALIAS_MAP, URI_OPTIONS_VALIDATOR_MAP

    return frozenset(name.lower() for name in [*URI_OPTIONS_VALIDATOR_MAP, *URI_OPTIONS_ALIAS_MAP])


def _option_parts(uri: str) -> list[tuple[str, str | None, str | None]]:
    """The URI cut into (text, None, None) kept as is and (prefix, name, value) for each option
    whose value is a credential."""
    known = _known_options()
    starts = [m for m in OPTION_START.finditer(uri) if m.group(1).lower() in known or _secret_name(m.group(1))]
    parts, position = [], 0
    for match, following in zip(starts, [*starts[1:], None]):
        name = match.group(1)
        end = following.start() if following else len(uri)
        if _secret_name(name):
            parts += [(uri[position:match.end()], None, None), (uri[match.end():end], name, uri[match.end():end])]
            position = end
    return parts + [(uri[position:], None, None)]


def _secret_name(name: str) -> bool:
    return bool(SECRET_OPTION.search(name)) or name.lower() == "authmechanismproperties"


def _masked_value(name: str, value: str) -> str:
    return _redact_properties(value) if name.lower() == "authmechanismproperties" else MASK


def _redact_properties(value: str) -> str:
    """`SERVICE_NAME:mongodb,AWS_SESSION_TOKEN:***`: keys kept, values masked unless plain."""
    pairs = []
    for pair in unquote(value).split(","):
        key, colon, _ = pair.partition(":")
        pairs.append(pair if key.upper() in PLAIN_PROPERTIES and colon else f"{key}:{MASK}" if colon else MASK)
    return ",".join(pairs)


def uri_secrets(uri: str) -> list[str]:
    """Every credential string of the URI, in the spellings a message may echo (as typed,
    percent-decoded, re-encoded), longest first, with the pieces a parser splitting at `/`,
    `@`, `:`... could show."""
    parts = _option_parts(uri)
    _, _, password, _ = split_credentials("".join(t if v is None else MASK for t, _, v in parts))
    found = [password] if password and password != MASK else []
    for _, name, value in parts:
        if value and name.lower() == "authmechanismproperties":
            found += [v for key, _, v in (p.partition(":") for p in unquote(value).split(","))
                      if v and key.upper() not in PLAIN_PROPERTIES]
        elif value:
            found.append(value)
    spellings: set[str] = set()
    for secret in found:
        for form in {secret, unquote(secret), unquote_plus(secret), quote(unquote(secret), safe=""),
                     quote_plus(unquote(secret))}:
            spellings.add(form)
            spellings.update(p for p in FRAGMENT.split(form) if len(p) >= MIN_FRAGMENT)
    return sorted(spellings, key=lambda s: (-len(s), s))


def scrub(text: str, uris: Iterable[str]) -> str:
    """`text` with every URI in it redacted and every credential of `uris` masked, even when a
    driver echoed only a piece of it."""
    uris = [u for u in uris if u]
    for uri in sorted(uris, key=len, reverse=True):
        text = text.replace(uri, redact_uri(uri))
    for secret in sorted({s for uri in uris for s in uri_secrets(uri)}, key=lambda s: (-len(s), s)):
        text = text.replace(secret, MASK)
    return text


def scrub_known(text: str) -> str:
    """`text` scrubbed of every URI this run was given: on the command line, or read from the
    environment or a file by resolve_source. The last guard before stderr."""
    import sys

    return scrub(text, [*_resolved, *(arg for arg in sys.argv[1:] if SCHEME.match(arg.strip()))])


def clean_error(error: BaseException, uri: str) -> str:
    """A driver's message on one line, cut before its topology dump, with no credential of `uri`."""
    text = " ".join(str(error).split())
    for noise in (", Timeout:", ", Topology Description:", " (configured timeouts:"):
        text = text.split(noise)[0]
    return scrub(text, [uri])


# -- URIs from the environment or a file --------------------------------------------------------

def resolve_source(spec: str) -> str:
    """`env:NAME` -> the value of the environment variable NAME; `file:PATH` -> the first line
    of that file; anything else unchanged. So a password never has to be on the command line
    (where `ps` shows it). Errors name the variable or file, never the value."""
    if spec.startswith(ENV_PREFIX):
        name = spec[len(ENV_PREFIX):]
        value = os.environ.get(name, "").strip()
        if not name or not value:
            raise InputError(f"{spec}: environment variable {name or '(no name)'} is not set or empty")
    elif spec.startswith(FILE_PREFIX):
        value = _first_line(spec, Path(spec[len(FILE_PREFIX):]).expanduser())
    else:
        return spec
    _resolved.add(value)
    return value


_resolved: set[str] = set()  # URIs read from the environment or files, for scrub_known


def _first_line(spec: str, path: Path) -> str:
    try:
        with path.open("rb") as handle:
            head = handle.read(64 * 1024)
    except OSError as error:
        raise InputError(f"{spec}: cannot read the file ({error.strerror or 'unreadable'})") from None
    try:
        lines = [line.strip() for line in head.decode("utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise InputError(f"{spec}: the file is not UTF-8 text") from None
    if not lines:
        raise InputError(f"{spec}: the file holds no URI (it is empty)")
    return lines[0]


# -- the per-run key of value hashes ------------------------------------------------------------

HASH_BYTES = 8
DIGEST = methodcaller("digest")
_run_key = os.urandom(16)


def new_run_key() -> bytes:
    """Start a new run: hashes made from now on cannot be compared with earlier ones."""
    global _run_key
    _run_key = os.urandom(16)
    return _run_key


def use_run_key(key: bytes) -> None:
    """Adopt another process's key (a worker started by spawn, not fork)."""
    global _run_key
    _run_key = bytes(key)


def run_key() -> bytes:
    return _run_key


def run_key_id() -> bytes:
    """A name of the current key that does not reveal it: structures built under one key check
    they are merged with their own kind."""
    return hashlib.blake2b(_run_key, digest_size=8, person=b"key-id").digest()


def keyed_hash(value: object) -> int:
    """A 64-bit blake2b of the value keyed with this run's random key: equal values hash alike
    within a run (joins work), and no hash is comparable with another run's or a dictionary's."""
    return keyed_hashes([value])[0]


def keyed_hashes(values: list) -> list[int]:
    from nosql_advisor.shape.stats import _since_epoch  # shape imports this module

    blake = partial(hashlib.blake2b, key=_run_key, digest_size=HASH_BYTES)
    encoded = [value.encode("utf-8", "surrogatepass") if type(value) is str else _value_bytes(value, _since_epoch)
               for value in values]
    return list(map(int.from_bytes, map(DIGEST, map(blake, encoded)), repeat("little")))


def _value_bytes(value: object, since_epoch) -> bytes:
    """The bytes hashed for a value: the same values are equal as for the sketches' stable hash
    (shape/stats.py: a string and the repr of a number alike, naive and aware datetimes of one
    instant alike), the same in every process."""
    kind = type(value)
    if kind is str:
        return value.encode("utf-8", "surrogatepass")
    if kind is ObjectId:
        return value.binary
    if kind is datetime:
        return _eight(hash(since_epoch(value)))
    if kind is tuple:
        return _eight(hash(value))
    return repr(value).encode()


def _eight(number: int) -> bytes:
    return (number & (2**64 - 1)).to_bytes(8, "little")


# -- values that must not be written (validators --enum) ------------------------------------------

# a field whose name says it holds a credential: its values are never written, whatever they look like
SECRET_NAME = re.compile(r"password|passwd|passphrase|(?:^|_)pass$|pwd|secret|token|api_?key|private_?key"
                         r"|credential|session_?id|card_?number|cvv|cvc|iban"
                         r"|(?:^|_)(?:pin|otp|salt|ssn)(?:$|_)", re.I)
NOT_SENSITIVE = {"slug"}  # detector kinds that say nothing of secrecy


def sensitive_kinds(values: list[str]) -> list[str]:
    """The detectors (secrets, personal data, password hashes) that match any of `values`."""
    from nosql_advisor.shape.detect import detect

    return sorted(kind for kind, count in detect(values).items() if count and kind not in NOT_SENSITIVE)


def enum_refusal(field) -> str | None:
    """Why a field's values must not be written as an `enum` (None when they may): it is flagged
    DM701/DM702 (the rules' own test), its name says credential, or a detector matches any one
    value of it (a minority of API keys is still API keys)."""
    from nosql_advisor.rules.privacy import BIRTH, PASSWORD, PII, SECRETS

    name = field.path.rsplit(".", 1)[-1]
    flagged = sorted(k for k, n in (field.detected or {}).items() if n and (k in PII or k in SECRETS or k == "password_hash"))
    if flagged:
        return f"its values were recognised as {', '.join(k.replace('_', ' ') for k in flagged)}"
    if PASSWORD.match(name) or SECRET_NAME.search(name) or BIRTH.match(name):
        return "its name says it holds a credential or personal data"
    matched = sensitive_kinds(list(field.string_values or []))
    if matched:
        return f"a value was recognised as {', '.join(k.replace('_', ' ') for k in matched)}"
    return None


def values_hidden(field) -> bool:
    """Whether no value of a field (its min/max, its enum values) may be written: what
    `enum_refusal` says, for numbers and dates too (a card number stored as a long, a birth date)."""
    return enum_refusal(field) is not None


def refuse_values(path: str, values: list[str]) -> bool:
    """Whether the values of `path` must not be kept at all (shape inference, before they reach
    a shape): a credential-like name, or any value a detector matches."""
    from nosql_advisor.rules.privacy import BIRTH, PASSWORD

    name = path.rsplit(".", 1)[-1]
    return bool(PASSWORD.match(name) or SECRET_NAME.search(name) or BIRTH.match(name) or sensitive_kinds(values))
