"""The staff web page: login, search, documents, dossiers, the intake status and the
officers' accounts, read from the archive and checked per route against the role table.

Server-rendered HTML behind a login; bind it to 127.0.0.1 (the default of `motcua serve`)
or serve it over TLS (`--certfile/--keyfile`, or a reverse proxy) on the centre's network.
"""

from motcua.web.app import DEFAULT_ALLOWED_HOSTS, allowed_hosts_for, create_app, is_loopback

__all__ = ["DEFAULT_ALLOWED_HOSTS", "allowed_hosts_for", "create_app", "is_loopback"]
