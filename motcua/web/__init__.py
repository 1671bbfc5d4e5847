"""The staff web page: search, documents, dossiers and the intake status, read from the archive.

Server-rendered HTML with no login: bind it to 127.0.0.1 (the default of `motcua serve`)
or put it behind the centre's own network.
"""

from motcua.web.app import DEFAULT_ALLOWED_HOSTS, allowed_hosts_for, create_app, is_loopback

__all__ = ["DEFAULT_ALLOWED_HOSTS", "allowed_hosts_for", "create_app", "is_loopback"]
