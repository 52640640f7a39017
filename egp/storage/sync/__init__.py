"""What a DB manager does with its database: prepare it, promote to and pull from its upstream library, and
archive cold GCs. Plain functions; the Celery tasks in dbmanager/ only call them.

One module per step: `delta` (the merge rule of statistics), `admission` (validation and quarantine of
incoming GCs), `push` (promote), `pull`, `archive`, `prepare` (schema and codon seeding) and `peers` (the
upstream and the report of an exchange). The watchdog's query lives in egp.jobs.recovery.
"""

from egp.storage.locks import advisory_lock
from egp.storage.sync.admission import validate_incoming
from egp.storage.sync.archive import archive, lookup_with_archive
from egp.storage.sync.peers import SyncError, SyncReport, upstream_of
from egp.storage.sync.prepare import database_uuid, prepare_database, seed_codons
from egp.storage.sync.pull import pull
from egp.storage.sync.push import promote

__all__ = [
    "SyncError",
    "SyncReport",
    "advisory_lock",
    "archive",
    "database_uuid",
    "lookup_with_archive",
    "prepare_database",
    "promote",
    "pull",
    "seed_codons",
    "upstream_of",
    "validate_incoming",
]
