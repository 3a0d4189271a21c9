"""The SDK's version, sent in Hello.sdk so ListWorkers shows which SDK a worker runs."""

SDK_VERSION = "0.1.0"
SDK_NAME = f"baton-python/{SDK_VERSION}"
