"""Compatibility fixes for moto's server, applied in-process before it starts.

Stock moto (5.2) answers a few calls differently from AWS, and the Terraform AWS provider or pyarrow trip
over exactly those. Each fix below patches one moto class, is a no-op where moto already behaves, and is
proven by a test in tests/terraform/test_moto_compat.py. `apply()` installs them all, once per process.
"""

import json
import xml.etree.ElementTree as ElementTree
from itertools import chain
from xml.sax.saxutils import escape

from moto.athena.responses import AthenaResponse
from moto.core.responses import ActionResult
from moto.iam.access_control import IAMPolicyStatement, PermissionResult
from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import AWSManagedPolicy, IAMBackend
from moto.s3.responses import S3Response
from moto.stepfunctions.responses import StepFunctionResponse

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
COMPLETE_MULTIPART_ROOT = "CompleteMultipartUploadResult"
# The AWS-managed policies the stack attaches (github_oidc's plan role).
ATTACHED_AWS_MANAGED_POLICIES = ("ReadOnlyAccess",)

_applied = False


def apply() -> None:
    """Install every fix (safe to call more than once)."""
    global _applied
    if _applied:
        return
    fix_athena_tags_of_untagged_resources()
    fix_step_functions_versions_and_validation()
    fix_s3_complete_multipart_upload_reply()
    fix_policy_statements_whose_condition_does_not_match()
    fix_aws_managed_policies_the_stack_attaches()
    _applied = True


def fix_aws_managed_policies_the_stack_attaches() -> None:
    """moto knows AWS-managed policies only when MOTO_IAM_LOAD_MANAGED_POLICIES is set (loading all ~1,300
    makes every IAM backend slow to create); without them, attaching ReadOnlyAccess fails with NoSuchEntity.
    Every new IAM backend gets just the ones the stack attaches."""
    original = IAMBackend._init_aws_policies

    def _init_aws_policies(self: IAMBackend):  # type: ignore[no-untyped-def]
        policies = original(self)
        if policies:
            return policies  # moto loaded them all
        data = json.loads(aws_managed_policies_data)
        return [
            AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data[name])
            for name in ATTACHED_AWS_MANAGED_POLICIES
        ]

    IAMBackend._init_aws_policies = _init_aws_policies


def fix_policy_statements_whose_condition_does_not_match() -> None:
    """A policy statement whose `Condition` names a key the request has no value for does not apply.

    moto ignores condition operators it does not implement (such as `Bool`) and so applies the statement
    unconditionally: the TLS-only bucket policy of `terraform/modules/data_lake` (Deny when
    `aws:SecureTransport` is false) then denies every request. AWS evaluates a condition on a key missing
    from the request context as false (except for `...IfExists` and `Null`), so the statement is skipped.
    moto supplies no `aws:SecureTransport`, so with this fix the buckets behave as they do on AWS for the
    HTTPS clients the units are there.
    """
    original = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):  # type: ignore[no-untyped-def]
        known = incoming_condition_values or {}
        for operator, values in (self._statement.get("Condition") or {}).items():
            if operator == "Null" or operator.endswith("IfExists"):
                continue
            if any(key not in known for key in values):
                return PermissionResult.NEUTRAL
        return original(self, action, resource, principal, incoming_condition_values)

    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]


def fix_athena_tags_of_untagged_resources() -> None:
    """Athena `ListTagsForResource` on an existing resource without tags answers an empty tag list.

    moto answers 400 "Resource ... Does Not Exist" for any resource that has no tags, so the provider
    fails to read back an untagged workgroup. AWS answers `{"Tags": []}`; unknown ARNs keep moto's error.
    """
    original = AthenaResponse.list_tags_for_resource

    def list_tags_for_resource(self: AthenaResponse):  # type: ignore[no-untyped-def]
        arn = self._get_param("ResourceARN")
        backend = self.athena_backend
        resources = chain(
            backend.work_groups.values(),
            backend.data_catalogs.values(),
            backend.capacity_reservations.values(),
        )
        if any(resource.arn == arn for resource in resources) and not backend.tagger.has_tags(arn):
            return json.dumps({"Tags": []})
        return original(self)

    AthenaResponse.list_tags_for_resource = list_tags_for_resource  # type: ignore[method-assign]


def fix_step_functions_versions_and_validation() -> None:
    """Step Functions `ValidateStateMachineDefinition` and `ListStateMachineVersions` get minimal answers.

    moto does not implement either and answers 500; the provider calls both for every state machine and
    retries 500s, so `terraform apply` hangs. Validation reports OK for any well-formed JSON definition (an
    error diagnostic otherwise); the version list comes from moto's own record of published versions,
    newest first as in AWS. Skipped for an action a newer moto implements itself.
    """
    if not hasattr(StepFunctionResponse, "validate_state_machine_definition"):

        def validate_state_machine_definition(self: StepFunctionResponse) -> ActionResult:
            try:
                json.loads(self._get_param("definition") or "")
            except ValueError as error:
                diagnostic = {"severity": "ERROR", "code": "INVALID_JSON_DESCRIPTION", "message": str(error)}
                return ActionResult({"result": "FAIL", "diagnostics": [diagnostic], "truncated": False})
            return ActionResult({"result": "OK", "diagnostics": [], "truncated": False})

        StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition  # type: ignore[attr-defined]

    if not hasattr(StepFunctionResponse, "list_state_machine_versions"):

        def list_state_machine_versions(self: StepFunctionResponse) -> ActionResult:
            machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
            newest_first = sorted(
                machine.versions.values(), key=lambda version: version.version, reverse=True
            )
            versions = [
                {"stateMachineVersionArn": version.arn, "creationDate": version.creation_date}
                for version in newest_first
            ]
            return ActionResult({"stateMachineVersions": versions})

        StepFunctionResponse.list_state_machine_versions = list_state_machine_versions  # type: ignore[attr-defined]


def fix_s3_complete_multipart_upload_reply() -> None:
    """S3 `CompleteMultipartUpload` replies with the root element `CompleteMultipartUploadResult`.

    Some moto 5.2 releases name the root `CompleteMultipartUploadResponse` (getmoto/moto#10055, fixed
    upstream by #10056). boto3 does not care, but the AWS C++ SDK inside pyarrow does, so pyarrow's
    multipart writes (files over its 10 MB part size) fail. The reply is rebuilt with S3's root element;
    a reply that already has it passes through untouched.
    """
    original = S3Response._key_response_post

    def _key_response_post(self: S3Response, *args, **kwargs):  # type: ignore[no-untyped-def]
        status, headers, body = original(self, *args, **kwargs)
        if status == 200 and body and getattr(self, "data", {}).get("Action") == "CompleteMultipartUpload":
            fixed = complete_multipart_upload_reply(body)
            if fixed != body:
                headers = {name: value for name, value in headers.items() if name.lower() != "content-length"}
                body = fixed
        return status, headers, body

    S3Response._key_response_post = _key_response_post  # type: ignore[method-assign]


def complete_multipart_upload_reply(body: str | bytes) -> str | bytes:
    """Return a CompleteMultipartUpload reply body with S3's root element, keeping its fields."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    root = ElementTree.fromstring(text)
    if _local_name(root.tag) == COMPLETE_MULTIPART_ROOT:
        return body
    # Keep the result's leaf fields (Location, Bucket, Key, ETag, checksums) wherever moto nested them.
    fields = [
        (_local_name(element.tag), element.text or "")
        for element in root.iter()
        if len(element) == 0 and _local_name(element.tag) != "RequestId"
    ]
    inner = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in fields)
    fixed = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<{COMPLETE_MULTIPART_ROOT} xmlns="{S3_NAMESPACE}">{inner}</{COMPLETE_MULTIPART_ROOT}>'
    )
    return fixed.encode("utf-8") if isinstance(body, bytes) else fixed


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
