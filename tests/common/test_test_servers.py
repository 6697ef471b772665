"""The test harness gives real servers: SeaweedFS checks signatures and policies, SMTP delivers."""

from __future__ import annotations

import secrets
import smtplib
from email.message import EmailMessage
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests

from tests.support.s3 import SeaweedS3
from tests.support.smtp import SmtpServer


@pytest.fixture
def bucket(s3_server: SeaweedS3) -> str:
    return s3_server.create_bucket()


def test_object_round_trip_is_byte_identical(s3_server: SeaweedS3, bucket: str) -> None:
    body = secrets.token_bytes(256 * 1024) + bytes(range(256))
    client = s3_server.client()
    client.put_object(Bucket=bucket, Key="dir/blob.bin", Body=body)

    fetched = client.get_object(Bucket=bucket, Key="dir/blob.bin")["Body"].read()

    assert fetched == body


def test_anonymous_read_of_private_object_is_refused(s3_server: SeaweedS3, bucket: str) -> None:
    s3_server.client().put_object(Bucket=bucket, Key="private.txt", Body=b"secret")

    response = requests.get(f"{s3_server.endpoint_url}/{bucket}/private.txt", timeout=10)

    assert response.status_code == 403
    assert b"secret" not in response.content


def test_wrong_secret_is_refused(s3_server: SeaweedS3, bucket: str) -> None:
    from botocore.exceptions import ClientError

    impostor = SeaweedS3()
    impostor.ports = s3_server.ports
    impostor.access_key = s3_server.access_key  # right key id, wrong secret

    with pytest.raises(ClientError) as caught:
        impostor.client().put_object(Bucket=bucket, Key="x", Body=b"x")

    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_presigned_get_works_and_tampering_is_refused(s3_server: SeaweedS3, bucket: str) -> None:
    client = s3_server.client()
    client.put_object(Bucket=bucket, Key="shared.txt", Body=b"for your eyes")
    client.put_object(Bucket=bucket, Key="other.txt", Body=b"not shared")
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "shared.txt"}, ExpiresIn=300
    )

    good = requests.get(url, timeout=10)
    assert good.status_code == 200
    assert good.content == b"for your eyes"

    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    signature = query["X-Amz-Signature"]
    query["X-Amz-Signature"] = ("0" if signature[0] != "0" else "1") + signature[1:]
    bad_signature = urlunsplit(parts._replace(query=urlencode(query)))
    other_key = urlunsplit(parts._replace(path=parts.path.replace("shared.txt", "other.txt")))

    for tampered in (bad_signature, other_key):
        response = requests.get(tampered, timeout=10)
        assert response.status_code == 403, tampered
        assert b"not shared" not in response.content


def test_presigned_post_enforces_size_limit(s3_server: SeaweedS3, bucket: str) -> None:
    client = s3_server.client()
    post = client.generate_presigned_post(
        bucket,
        "uploads/avatar.png",
        Conditions=[["content-length-range", 1, 1024]],
        ExpiresIn=300,
    )

    small = requests.post(
        post["url"], data=post["fields"], files={"file": ("a.png", b"x" * 100)}, timeout=10
    )
    assert small.status_code in (200, 201, 204), small.text
    stored = client.get_object(Bucket=bucket, Key="uploads/avatar.png")["Body"].read()
    assert stored == b"x" * 100

    large = requests.post(
        post["url"], data=post["fields"], files={"file": ("a.png", b"y" * 4096)}, timeout=10
    )
    assert large.status_code == 400
    assert "EntityTooLarge" in large.text
    stored = client.get_object(Bucket=bucket, Key="uploads/avatar.png")["Body"].read()
    assert stored == b"x" * 100


def test_email_arrives_intact(smtp_inbox: SmtpServer) -> None:
    message = EmailMessage()
    message["From"] = "Fanfare <noreply@fanfare.test>"
    message["To"] = "advocate@example.org"
    message["Subject"] = "Merci — your reward is ready"
    message.set_content("Hello advocate,\n\nyour thank-you gift is waiting. ✓\n")

    with smtplib.SMTP(smtp_inbox.host, smtp_inbox.port, timeout=10) as smtp:
        smtp.send_message(message)

    [mail] = smtp_inbox.wait_for(1, timeout=10)
    assert mail.mail_from == "noreply@fanfare.test"
    assert mail.rcpt_tos == ("advocate@example.org",)
    assert mail.message["To"] == "advocate@example.org"
    assert mail.message["Subject"] == "Merci — your reward is ready"
    body = mail.message.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content() == "Hello advocate,\n\nyour thank-you gift is waiting. ✓\n"


def test_inbox_is_emptied_between_tests(smtp_inbox: SmtpServer) -> None:
    assert smtp_inbox.messages == []
    with pytest.raises(TimeoutError):
        smtp_inbox.wait_for(1, timeout=0.2)
