"""The one-stop counter's domain: dossiers (receive, resolve, edit, cancel, merge), their
due dates on the centre's working calendar, the overdue list and apology letters, and the
import of dossiers kept in other systems.

It sits beside the archive and uses it (the catalogue of procedures and document types,
owners, reuse, the audit log, document records); the archive never imports the counter.
What a counter officer does is in `motcua.services.counter`, over these functions.
"""
