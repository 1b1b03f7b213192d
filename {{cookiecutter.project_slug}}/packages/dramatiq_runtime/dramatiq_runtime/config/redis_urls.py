"""Redis URLs: one server, one database number per role (cache, broker, results)."""

from urllib.parse import urlsplit, urlunsplit

SCHEMES = ("redis", "rediss", "unix")


def url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        return f"must be a Redis URL like redis://[:password@]host:6379 ({exc})"
    if parts.scheme not in SCHEMES or not (parts.hostname or parts.scheme == "unix"):
        return "must be a Redis URL like redis://[:password@]host:6379"
    path = parts.path.strip("/")
    if parts.scheme != "unix" and path and not (path.isdigit() and int(path) <= 15):
        return "the database in the URL path must be a number from 0 to 15"
    return None


def db_of(url: str) -> int | None:
    """The database number in the URL's path, if any."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        for pair in parts.query.split("&"):
            key, _, value = pair.partition("=")
            if key == "db" and value.isdigit():
                return int(value)
        return None
    path = parts.path.strip("/")
    return int(path) if path.isdigit() else None


def with_db(url: str, db: int) -> str:
    """The same server with database ``db``."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = [p for p in parts.query.split("&") if p and not p.startswith("db=")]
        query.append(f"db={db}")
        return urlunsplit(parts._replace(query="&".join(query)))
    return urlunsplit(parts._replace(path=f"/{db}"))


def server_of(url: str) -> tuple[str, int, str]:
    """What identifies one Redis server: host, port (or socket path)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return ("unix", 0, parts.path)
    return (parts.hostname or "", parts.port or 6379, "")


def has_password(url: str) -> bool:
    return bool(urlsplit(url).password)


def masked(url: str) -> str:
    """The URL with its password replaced, safe to print or log."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:********@{netloc}"))
