"""TrailImport: one import of trail logs from S3 into a CloudTrail Lake event data store."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from aws_cdk import (
    CfnResource,
    CustomResource,
    Duration,
    Names,
    RemovalPolicy,
    Stack,
    Token,
    aws_cloudtrail,
    aws_iam,
    aws_kms,
    aws_s3,
)
from constructs import Construct

from trail_import_handler.properties import MAX_FAILED_ENTRIES

from ._prop_types import BUCKET, DURATION, FLAG, KEY, REMOVAL, ROLE, TEXT, TIME, WHOLE, check, check_source_prefix
from .access_role import ImportAccessRole
from .archive_verification import ArchiveVerification, VerifiedWindow
from .import_monitor import ImportMonitor
from .import_provider import ImportProvider
from .resource_type import ACCESS_ROLE_PATH, ResourceTypeRegistration

RESOURCE_TYPE = "Custom::CloudTrailLakeImport"
MAX_TIMEOUT = Duration.minutes(55)
_EVENT_DATA_STORE_ARN = re.compile(r"^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\d{12}:eventdatastore/[A-Za-z0-9_.-]+$")


class TrailImport(Construct):
    """Imports CloudTrail trail logs from an S3 bucket into a CloudTrail Lake event data store.

    The import starts on deploy, the stack waits for it (unless
    ``wait_for_completion`` is False) and its statistics become attributes.
    Deleting the construct stops an import that still runs; imported events
    stay in the store. An import of the same destination, source and window
    that exists already is adopted, never started again: a deploy after one
    that timed out and rolled back resumes the stopped import where it ended.
    Imports of one stack run one after the other, as the account allows only
    one at a time.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        event_data_store: aws_cloudtrail.CfnEventDataStore | str,
        source_bucket: aws_s3.IBucket,
        source_prefix: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        access_role: aws_iam.IRole | None = None,
        encryption_key: aws_kms.IKey | None = None,
        wait_for_completion: bool = True,
        timeout: Duration | None = None,
        max_failed_entries: int = 0,
        retry_token: str | None = None,
        preflight: bool = True,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        monitor: ImportMonitor | None = None,
        resource_type: ResourceTypeRegistration | None = None,
        verify: ArchiveVerification | None = None,
        verified_report: str | None = None,
        reconcile_strictly: bool = False,
    ) -> None:
        """
        :param event_data_store: the destination: an L1 ``CfnEventDataStore`` or its ARN.
        :param source_bucket: the bucket that holds the trail logs; its ACLs must be disabled. A bucket defined
            in this app, in any stack or account, gets the bucket (and key) policy statements the access role
            needs; for an imported bucket, they are written for its owner to ``source-policy.BUCKET.json`` in
            the cloud assembly (``cdk.out``), which an info annotation names.
        :param source_prefix: the key prefix of the logs within the bucket, such as ``org-trail`` (not an
            ``s3://`` URI). A leading or trailing ``/`` is dropped: ``org-trail/`` and ``/org-trail`` name the
            prefix ``org-trail``, and the import reads ``s3://BUCKET/org-trail``. Default: the bucket's
            ``CloudTrail`` prefixes, as CloudTrail reads them.
        :param start_time: import log files dated from this time on (timezone-aware). Default: no lower bound.
        :param end_time: import log files dated before this time (timezone-aware). Default: no upper bound.
        :param access_role: the role CloudTrail assumes to read the bucket; a role given here brings its own
            grants, and no bucket or key policy statement is added for it. Default: an ``ImportAccessRole``
            limited to this bucket, prefix and destination, shared by imports that read the same.
        :param encryption_key: the KMS key of SSE-KMS encrypted logs, for the default access role.
            Default: the bucket's own key, if any.
        :param wait_for_completion: wait until the import ends. Default: True.
        :param timeout: how long the deploy waits for the import, at most 55 minutes. Default: 55 minutes.
        :param max_failed_entries: failed entries tolerated before the deploy fails. Default: 0.
        :param retry_token: change it to resume a FAILED or STOPPED import under the same ImportId. Default: none.
        :param preflight: before starting, check that the bucket is in its region, has ACLs disabled and holds
            log files in the window, and fail fast otherwise. Default: True.
        :param removal_policy: RETAIN leaves a running import running when the resource is deleted.
            Default: DESTROY (stop it).
        :param monitor: an ``ImportMonitor`` whose dashboard shows this import's progress; recommended with
            ``wait_for_completion=False``, when no deploy waits for the end. Default: none.
        :param resource_type: make the import a resource of this registered type instead of a custom resource:
            the deploy then waits up to 36 hours (``timeout`` does not apply). It must be registered in another
            stack, which this one then depends on. Default: the custom resource.
        :param verify: prove the archive first: the deploy verifies the window's digest chain and log files with
            this ``ArchiveVerification`` (of the same bucket and prefix), and the import depends on it, so an
            archive that is not intact is never imported. Needs ``start_time`` and ``end_time``. A resumed import
            (``retry_token``) is not verified again; a changed window is. With ``resource_type``, the type's
            own Create runs the verification (``VerifyWith``) before it starts the import, within its 36-hour
            wait. Default: no verification.
        :param verified_report: with ``verify``, the report of a verification run before the deploy for this
            source and window (``s3://REPORT_BUCKET/verifications/RUN/report.json``), accepted instead of running
            one: for windows that take longer to verify than a deploy waits. Custom resource only: the registry
            type waits for its own. Default: none.
        :param reconcile_strictly: with ``verify``, fail the deploy when the events imported differ from the
            events the verification proved in the window. AWS does not document how an import counts, so by
            default a difference is only reported (``events_difference``, ``files_difference``). Default: False.
        """
        super().__init__(scope, construct_id)
        check("source_bucket", source_bucket, BUCKET, required=True)
        for name, value, expected in (
                ("start_time", start_time, TIME), ("end_time", end_time, TIME), ("access_role", access_role, ROLE),
                ("encryption_key", encryption_key, KEY),
                ("wait_for_completion", wait_for_completion, FLAG), ("timeout", timeout, DURATION),
                ("max_failed_entries", max_failed_entries, WHOLE), ("retry_token", retry_token, TEXT),
                ("preflight", preflight, FLAG), ("removal_policy", removal_policy, REMOVAL),
                ("monitor", monitor, ("an ImportMonitor", lambda v: isinstance(v, ImportMonitor))),
                ("resource_type", resource_type,
                 ("a ResourceTypeRegistration", lambda v: isinstance(v, ResourceTypeRegistration))),
                ("verify", verify, ("an ArchiveVerification", lambda v: isinstance(v, ArchiveVerification))),
                ("verified_report", verified_report, TEXT), ("reconcile_strictly", reconcile_strictly, FLAG)):
            check(name, value, expected)
        check_source_prefix(source_prefix)
        timeout = timeout or MAX_TIMEOUT
        _check(start_time, end_time, timeout, max_failed_entries)
        destination = _destination_arn(event_data_store)
        self.destination_arn = destination
        """The destination event data store's ARN."""
        region = source_bucket.env.region
        prefix = (source_prefix or "").strip("/")
        if resource_type is not None and Stack.of(resource_type) is Stack.of(self):
            raise ValueError("resource_type: register the type in a stack of its own, deployed before this one; "
                             "CloudFormation rejects a template that names a type not yet registered.")
        path = ACCESS_ROLE_PATH if resource_type is not None else None
        if access_role is None:
            access_role = _shared_access_role(self, source_bucket, prefix, destination, encryption_key, path)
        self.access_role = access_role
        """The role CloudTrail assumes to read the bucket."""
        properties: dict[str, Any] = {
            "EventDataStoreArn": destination,
            "S3LocationUri": f"s3://{source_bucket.bucket_name}" + (f"/{prefix}" if prefix else ""),
            "S3BucketRegion": region,
            "S3BucketAccessRoleArn": access_role.role_arn,
            "WaitForCompletion": wait_for_completion,
            "MaxFailedEntries": max_failed_entries,
            "Preflight": preflight,
        }
        if start_time:
            properties["StartEventTime"] = start_time.isoformat()
        if end_time:
            properties["EndEventTime"] = end_time.isoformat()
        if retry_token:
            properties["RetryToken"] = retry_token
        self.verification: VerifiedWindow | None = None
        """The deploy's verification of the window, when ``verify`` is given to an import of the custom resource.
        A resource of the registry type verifies the window in its own Create (``VerifyWith``): see
        ``verification_report_uri`` and the other counts of the import."""
        self.archive_verification = verify
        """The ``ArchiveVerification`` that proves the window, when ``verify`` is given."""
        if verify is not None:
            _check_verification(self, verify, source_bucket, prefix, start_time, end_time)
            if resource_type is not None:
                if verified_report is not None:
                    raise ValueError("verified_report: a resource of the registry type verifies the window in its "
                                     "own Create, which waits up to 36 hours; accept a report with the custom "
                                     "resource only")
                name = Stack.of(self).resolve(verify.state_machine_name)
                if not resource_type.may_verify_with(name):
                    raise ValueError(f"verify: the type's execution role may start the state machines named "
                                     f"{', '.join(resource_type.verification_state_machine_names) or '(none)'}, "
                                     f"not {name}; give ResourceTypeRegistration verification_state_machine_names "
                                     "that include it")
                properties["VerifyWith"] = verify.state_machine.state_machine_arn
            else:
                assert start_time is not None
                assert end_time is not None
                self.verification = verify.verify_window(
                    f"Window{Names.unique_id(self)}", start_time=start_time, end_time=end_time,
                    accept_report=verified_report, timeout=timeout)
                # The counts proved, for the import to set beside its own when it ends.
                properties["VerifiedLogFiles"] = self.verification.log_files_verified
                properties["VerifiedEvents"] = self.verification.events_in_window
            properties["ReconcileStrictly"] = reconcile_strictly
        elif verified_report is not None or reconcile_strictly:
            raise ValueError(f"{'verified_report' if verified_report is not None else 'reconcile_strictly'}: give "
                             "verify too, the ArchiveVerification of this import's source")
        self.resource: CustomResource | CfnResource
        """The resource that owns the import: a custom resource, or one of the registered type."""
        if resource_type is not None:
            Stack.of(self).add_stack_dependency(Stack.of(resource_type), "the import's type is registered there")
            self.resource = CfnResource(self, "Resource", type=resource_type.type_name, properties=properties)
            self.resource.apply_removal_policy(removal_policy)
        else:
            provider = ImportProvider.of(self, timeout)
            provider.grant_import(access_role.role_arn)
            if preflight:
                provider.grant_preflight(source_bucket, prefix, destination)
            # A custom resource's properties reach the handler as strings.
            as_strings = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in properties.items()}
            self.resource = CustomResource(
                self, "Resource",
                service_token=provider.service_token,
                resource_type=RESOURCE_TYPE,
                properties=as_strings,
                removal_policy=removal_policy,
                service_timeout=Duration.minutes(int(timeout.to_minutes()) + 5),
            )
        if self.verification is not None:
            self.resource.node.add_dependency(self.verification.resource)
        # The account runs one import at a time: deploy the stack's imports one after the other.
        order = _ImportOrder.of(self)
        if order.last is not None:
            self.resource.node.add_dependency(order.last.resource)
        order.last = self
        if monitor is not None:
            monitor.watch(self)

    def _attribute(self, name: str) -> str:
        if isinstance(self.resource, CustomResource):
            return self.resource.get_att_string(name)
        return Token.as_string(self.resource.get_att(name))

    @property
    def import_id(self) -> str:
        """The ImportId CloudTrail gave the import (the custom resource's physical id as well; a resource of the
        registry type is known by an Id of its own, since its import may start hours after the deploy began)."""
        return self._attribute("ImportId")

    @property
    def import_status(self) -> str:
        """ImportStatus when the deploy finished waiting."""
        return self._attribute("ImportStatus")

    @property
    def events_completed(self) -> str:
        """Events imported."""
        return self._attribute("EventsCompleted")

    @property
    def failed_entries(self) -> str:
        """Entries that failed to import."""
        return self._attribute("FailedEntries")

    @property
    def events_difference(self) -> str:
        """With ``verify``: the events imported less the events the verification proved in the window."""
        return self._reconciled("EventsDifference")

    @property
    def files_difference(self) -> str:
        """With ``verify``: the files imported less the log files verified, which at the window's edges include
        files dated just outside it (their events are not counted as the window's)."""
        return self._reconciled("FilesDifference")

    @property
    def events_verified(self) -> str:
        """With ``verify``: the events the verification proved in the window."""
        return self._reconciled("EventsVerified", "events_in_window")

    @property
    def log_files_verified(self) -> str:
        """With ``verify``: the log files the verification proved."""
        return self._reconciled("LogFilesVerified", "log_files_verified")

    @property
    def verification_report_uri(self) -> str:
        """With ``verify``: the verification's whole report, ``s3://REPORT_BUCKET/verifications/RUN/report.json``."""
        return self._reconciled("VerificationReportUri", "report_uri")

    def _reconciled(self, name: str, of_window: str | None = None) -> str:
        """The import resource's attribute ``name``; for the custom resource, ``of_window`` names the
        VerifiedWindow's attribute that holds it instead."""
        if self.archive_verification is None:
            raise ValueError(f"{name} is an attribute of a verified import: give verify=")
        if self.verification is not None and of_window is not None:
            return str(getattr(self.verification, of_window))
        return self._attribute(name)

    @property
    def files_completed(self) -> str:
        """Log files imported."""
        return self._attribute("FilesCompleted")

    @property
    def prefixes_found(self) -> str:
        """Prefixes found under the source."""
        return self._attribute("PrefixesFound")

    @property
    def prefixes_completed(self) -> str:
        """Prefixes imported."""
        return self._attribute("PrefixesCompleted")


def _check(start: datetime | None, end: datetime | None, timeout: Duration, max_failed: int) -> None:
    for name, value in (("start_time", start), ("end_time", end)):
        if value is not None and value.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware, such as datetime(2024, 1, 1, tzinfo=timezone.utc)")
    if start and end and start >= end:
        raise ValueError(f"start_time ({start.isoformat()}) must be before end_time ({end.isoformat()})")
    if not Token.is_unresolved(timeout.to_seconds()):
        seconds = timeout.to_seconds()
        if seconds < 60 or seconds > MAX_TIMEOUT.to_seconds() or seconds % 60:
            raise ValueError(f"timeout must be whole minutes from 1 to 55 (the custom resource limit is one hour "
                             f"with room to answer); got {seconds} seconds")
    if not 0 <= max_failed <= MAX_FAILED_ENTRIES:
        raise ValueError(f"max_failed_entries must be a whole number from 0 to {MAX_FAILED_ENTRIES}; got {max_failed}")


def _destination_arn(event_data_store: aws_cloudtrail.CfnEventDataStore | str) -> str:
    if isinstance(event_data_store, aws_cloudtrail.CfnEventDataStore):
        return event_data_store.attr_event_data_store_arn
    check("event_data_store", event_data_store, ("a CfnEventDataStore or an event data store ARN (a string)",
                                                 lambda value: isinstance(value, str)), required=True)
    if not Token.is_unresolved(event_data_store) and not _EVENT_DATA_STORE_ARN.fullmatch(event_data_store):
        raise ValueError(
            "event_data_store must be a CfnEventDataStore or an event data store ARN such as "
            f"arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/EXAMPLE; got {event_data_store!r}"
        )
    return event_data_store


def _shared_access_role(scope: Construct, bucket: aws_s3.IBucket, prefix: str, destination: str,
                        key: aws_kms.IKey | None, path: str | None) -> aws_iam.IRole:
    stack = Stack.of(scope)
    identity = "|".join((stack.resolve(bucket.bucket_name).__repr__(), prefix, stack.resolve(destination).__repr__()))
    identity += f"|{path}" if path else ""
    construct_id = "CloudTrailLakeImportAccess" + hashlib.sha256(identity.encode()).hexdigest()[:8]
    existing = stack.node.try_find_child(construct_id)
    if isinstance(existing, ImportAccessRole):
        return existing.role
    return ImportAccessRole(stack, construct_id, source_bucket=bucket, source_prefix=prefix or None,
                            event_data_store_arn=destination, encryption_key=key, path=path).role


class _ImportOrder(Construct):
    """Remembers the stack's last TrailImport, which the next one waits for."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.last: TrailImport | None = None

    @classmethod
    def of(cls, scope: Construct) -> _ImportOrder:
        stack = Stack.of(scope)
        existing = stack.node.try_find_child("CloudTrailLakeImportOrder")
        return existing if isinstance(existing, _ImportOrder) else cls(stack, "CloudTrailLakeImportOrder")


def _check_verification(trail_import: TrailImport, verify: ArchiveVerification, bucket: aws_s3.IBucket,
                        prefix: str, start: datetime | None, end: datetime | None) -> None:
    stack = Stack.of(trail_import)
    ours = stack.resolve(f"s3://{bucket.bucket_name}" + (f"/{prefix}" if prefix else ""))
    theirs = stack.resolve(verify.source_uri)
    if ours != theirs:
        raise ValueError(f"verify: the ArchiveVerification verifies {verify.node.path}'s source, not this import's "
                         f"source_bucket and source_prefix; give the import an ArchiveVerification of its own source")
    if start is None or end is None:
        raise ValueError("verify: give start_time and end_time too; a verification proves a window")
