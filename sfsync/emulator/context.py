"""What a handler gets: the emulator's parts, and the authenticated call in hand."""

from __future__ import annotations

from dataclasses import dataclass, field

from sfsync.emulator.bulk_ingest_jobs import IngestJobs
from sfsync.emulator.bulk_jobs import BulkJobs
from sfsync.emulator.calllog import CallLog
from sfsync.emulator.connected_app import ConnectedApp
from sfsync.emulator.cursors import CursorStore
from sfsync.emulator.faults import Faults
from sfsync.emulator.limits import ApiUsage
from sfsync.emulator.org import Org
from sfsync.emulator.sessions import Session, SessionStore
from sfsync.emulator.wire import Request


@dataclass(frozen=True)
class Services:
    """The parts of one running emulator, shared by every request thread."""

    org: Org
    sessions: SessionStore
    cursors: CursorStore
    faults: Faults
    usage: ApiUsage
    app: ConnectedApp
    calls: CallLog
    instance_url: str
    login_url: str
    bulk_jobs: BulkJobs = field(default_factory=BulkJobs)
    ingest_jobs: IngestJobs = field(default_factory=IngestJobs)


@dataclass(frozen=True)
class Call:
    """One authenticated, counted REST call under `/services/data/vXX.X/`."""

    request: Request
    session: Session
    # "62.0"
    version: str
    # The path after the version, without surrounding slashes: "sobjects/Lead".
    resource: str
    services: Services

    @property
    def org(self) -> Org:
        """The org the call reads and writes."""
        return self.services.org

    @property
    def user_id(self) -> str:
        """The session's user: `LastModifiedById` of what the call writes."""
        return self.session.user_id

    @property
    def base(self) -> str:
        """`/services/data/vXX.X`, for URLs in response bodies."""
        return f"/services/data/v{self.version}"
