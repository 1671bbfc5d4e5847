"""motcua: digitization pipeline and e-archive for a commune one-stop centre.

Data flows one way: inbox -> ingest -> ocr -> archive -> index; templates read
from the archive. See README.md for the map of the package.
"""

__version__ = "0.1.0"
SYSTEM_NAME = "motcua"
