"""Each fix of scripts/moto_compat.py, exercised through the emulator the way its client uses it."""

import json
import os
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError
from moto.s3.responses import S3Response
from pyarrow import fs

from scripts.emulator import Emulator
from scripts.moto_compat import COMPLETE_MULTIPART_ROOT, complete_multipart_upload_reply
from tests.terraform.helpers import emulator_client


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with Emulator() as emulator:
        yield emulator.endpoint


def test_athena_lists_no_tags_for_an_untagged_workgroup(endpoint: str):
    athena = emulator_client(endpoint, "athena")
    athena.create_work_group(Name="untagged", Configuration={})
    arn = "arn:aws:athena:us-east-1:123456789012:workgroup/untagged"

    assert athena.list_tags_for_resource(ResourceARN=arn)["Tags"] == []


def test_athena_still_rejects_tags_of_an_unknown_resource(endpoint: str):
    athena = emulator_client(endpoint, "athena")
    with pytest.raises(ClientError):
        athena.list_tags_for_resource(ResourceARN="arn:aws:athena:us-east-1:123456789012:workgroup/missing")


def test_athena_lists_the_tags_of_a_tagged_workgroup(endpoint: str):
    athena = emulator_client(endpoint, "athena")
    athena.create_work_group(Name="tagged", Configuration={}, Tags=[{"Key": "project", "Value": "batchml"}])
    arn = "arn:aws:athena:us-east-1:123456789012:workgroup/tagged"

    assert athena.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "project", "Value": "batchml"}]


def test_step_functions_validates_a_definition(endpoint: str):
    sfn = emulator_client(endpoint, "stepfunctions")
    valid = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})

    assert sfn.validate_state_machine_definition(definition=valid)["result"] == "OK"
    assert sfn.validate_state_machine_definition(definition="{not json")["result"] == "FAIL"


def test_step_functions_lists_published_versions_newest_first(endpoint: str):
    sfn = emulator_client(endpoint, "stepfunctions")
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    machine = sfn.create_state_machine(
        name="daily",
        definition=definition,
        roleArn="arn:aws:iam::123456789012:role/workflow",
        publish=True,
    )
    second = sfn.update_state_machine(
        stateMachineArn=machine["stateMachineArn"], definition=definition, publish=True
    )

    versions = sfn.list_state_machine_versions(stateMachineArn=machine["stateMachineArn"])

    arns = [version["stateMachineVersionArn"] for version in versions["stateMachineVersions"]]
    assert arns == [second["stateMachineVersionArn"], machine["stateMachineVersionArn"]]


def test_pyarrow_multipart_write_completes(endpoint: str):
    emulator_client(endpoint, "s3").create_bucket(Bucket="multipart")
    s3 = fs.S3FileSystem(
        endpoint_override=endpoint, scheme="http", access_key="test", secret_key="test", region="us-east-1"
    )
    payload = os.urandom(12 * 1024 * 1024)  # over pyarrow's 10 MB part size, so written in parts

    with s3.open_output_stream("multipart/big.bin") as stream:
        stream.write(payload)

    with s3.open_input_stream("multipart/big.bin") as stream:
        assert stream.read() == payload


def test_pyarrow_multipart_write_survives_the_misnamed_reply(endpoint: str, monkeypatch: pytest.MonkeyPatch):
    # Reproduce the moto releases that name the reply's root element after the operation (getmoto/moto#10055);
    # without the fix pyarrow fails with "error embedded in a 200 OK response".
    serialized = S3Response.serialized

    def misnamed(self: S3Response, result):  # type: ignore[no-untyped-def]
        status, headers, body = serialized(self, result)
        if self.data.get("Action") == "CompleteMultipartUpload":
            body = body.replace(COMPLETE_MULTIPART_ROOT, "CompleteMultipartUploadResponse")
        return status, headers, body

    monkeypatch.setattr(S3Response, "serialized", misnamed)
    emulator_client(endpoint, "s3").create_bucket(Bucket="misnamed")
    s3 = fs.S3FileSystem(
        endpoint_override=endpoint, scheme="http", access_key="test", secret_key="test", region="us-east-1"
    )
    payload = os.urandom(12 * 1024 * 1024)

    with s3.open_output_stream("misnamed/big.bin") as stream:
        stream.write(payload)

    assert s3.get_file_info("misnamed/big.bin").size == len(payload)


def test_complete_multipart_reply_is_renamed_and_keeps_its_fields():
    misnamed = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<CompleteMultipartUploadResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        "<Location>http://lake.s3.amazonaws.com/a&amp;b.csv</Location><Bucket>lake</Bucket>"
        '<Key>a&amp;b.csv</Key><ETag>"abc-2"</ETag></CompleteMultipartUploadResponse>'
    )

    fixed = complete_multipart_upload_reply(misnamed)

    assert fixed == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        "<Location>http://lake.s3.amazonaws.com/a&amp;b.csv</Location><Bucket>lake</Bucket>"
        '<Key>a&amp;b.csv</Key><ETag>"abc-2"</ETag></CompleteMultipartUploadResult>'
    )


def test_complete_multipart_reply_already_right_is_untouched():
    right = b'<CompleteMultipartUploadResult xmlns="x"><Key>k</Key></CompleteMultipartUploadResult>'
    assert complete_multipart_upload_reply(right) is right


def tls_only_policy(bucket: str, condition_value: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": [condition_value]}},
        }],
    })  # fmt: skip


def test_a_deny_whose_condition_does_not_hold_lets_requests_through(endpoint: str):
    s3 = emulator_client(endpoint, "s3")
    s3.create_bucket(Bucket="tls-only")
    s3.put_bucket_policy(Bucket="tls-only", Policy=tls_only_policy("tls-only", "false"))

    s3.put_object(Bucket="tls-only", Key="a.csv", Body=b"x")
    assert s3.get_object(Bucket="tls-only", Key="a.csv")["Body"].read() == b"x"


def test_a_deny_without_a_condition_still_denies(endpoint: str):
    s3 = emulator_client(endpoint, "s3")
    s3.create_bucket(Bucket="deny-all")
    policy = json.loads(tls_only_policy("deny-all", "false"))
    del policy["Statement"][0]["Condition"]
    s3.put_bucket_policy(Bucket="deny-all", Policy=json.dumps(policy))

    with pytest.raises(ClientError, match=r"Forbidden|AccessDenied"):
        s3.put_object(Bucket="deny-all", Key="a.csv", Body=b"x")


def test_iam_knows_the_aws_managed_policies_the_stack_attaches(endpoint: str):
    iam = emulator_client(endpoint, "iam")
    iam.create_role(
        RoleName="plan", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )

    iam.attach_role_policy(RoleName="plan", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")

    attached = iam.list_attached_role_policies(RoleName="plan")["AttachedPolicies"]
    assert [policy["PolicyName"] for policy in attached] == ["ReadOnlyAccess"]
    with pytest.raises(ClientError, match=r"NoSuchEntity|does not exist"):
        iam.attach_role_policy(RoleName="plan", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
