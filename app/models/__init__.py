"""The one model shared by every blueprint, split by domain."""

from app.models.api import ApiClient, ApiIdempotencyKey, MemberChange
from app.models.audit import AuditEvent
from app.models.auth import Role, RolePermission, User, user_roles
from app.models.imports import ImportedMember, MemberImport
from app.models.integration import (
    Connector,
    ConnectorMember,
    DataTransfer,
    DataTransferMember,
    JobRun,
    ManualRecipient,
    OutboxEvent,
    WorkerHeartbeat,
)
from app.models.mail import MailOutbox
from app.models.member import (
    Consent,
    HealthNote,
    Invoice,
    Member,
    MemberStatusCount,
    StaffNote,
    Subscription,
    Visit,
)
from app.models.plan import Plan
from app.models.privacy import DataRequest, ErasureRecord, LegalHold, RecipientNotice, RequestEvent
from app.models.retention import RetentionPolicy
from app.models.system import Counter, JobLock, MaintenanceStatus, RateLimitBucket

__all__ = [
    "ApiClient",
    "ApiIdempotencyKey",
    "AuditEvent",
    "Connector",
    "ConnectorMember",
    "Consent",
    "Counter",
    "DataRequest",
    "DataTransfer",
    "DataTransferMember",
    "ErasureRecord",
    "HealthNote",
    "ImportedMember",
    "Invoice",
    "JobLock",
    "JobRun",
    "LegalHold",
    "MailOutbox",
    "MaintenanceStatus",
    "ManualRecipient",
    "MemberImport",
    "Member",
    "MemberStatusCount",
    "MemberChange",
    "OutboxEvent",
    "Plan",
    "RateLimitBucket",
    "RecipientNotice",
    "RequestEvent",
    "RetentionPolicy",
    "Role",
    "RolePermission",
    "StaffNote",
    "Subscription",
    "User",
    "Visit",
    "WorkerHeartbeat",
    "user_roles",
]
