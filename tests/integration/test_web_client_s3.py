"""test_web_client_s3.py: the earlier web client's calls (test_web_client.py)
with the files in S3 (s3rver, tests/s3rver): its PUTs go to the bucket,
reads of its groups complete them, and the file paths it looks at
redirect to the bucket.
"""
import test_web_client as client
from harness import main
from s3rver import S3rver


def test_start_s3():
    client.s3 = S3rver(bucket="bandpics-client")


def test_stop_s3():
    client.s3.close()


if __name__ == "__main__":
    main([test_start_s3] + client.TESTS + [test_stop_s3])
