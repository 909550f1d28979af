"""The one explicit list of model modules, imported by create_app so metadata is complete for Alembic."""

from app.audit.models import Checkpoint
from app.documents.models import (
    Attachment,
    Delivery,
    DeliveryEvent,
    DraftVersion,
    IncomingDocument,
    OutgoingDocument,
    ReceivedDocument,
    ReceivedFile,
    Register,
)
from app.engine.models import HistoryEvent, OpenTask, ProcessDefinition, ProcessInstance, ProcessSpec
from app.inbox.models import Notification, SavedFilter
from app.interop.models import DirectoryEntry, OutboundPackage, QuarantinedPackage
from app.org.models import Agency, Delegation, LoginSession, RoleGrant, Unit, User
from app.signing.models import ExternalSigning, SigningKey, TrustAnchor
from app.worktime.models import CalendarDay

__all__ = [
    "Agency",
    "Attachment",
    "CalendarDay",
    "Checkpoint",
    "Delegation",
    "Delivery",
    "DeliveryEvent",
    "DirectoryEntry",
    "DraftVersion",
    "ExternalSigning",
    "HistoryEvent",
    "IncomingDocument",
    "LoginSession",
    "Notification",
    "OpenTask",
    "OutboundPackage",
    "OutgoingDocument",
    "ProcessDefinition",
    "ProcessInstance",
    "ProcessSpec",
    "QuarantinedPackage",
    "ReceivedDocument",
    "ReceivedFile",
    "Register",
    "RoleGrant",
    "SavedFilter",
    "SigningKey",
    "TrustAnchor",
    "Unit",
    "User",
]
