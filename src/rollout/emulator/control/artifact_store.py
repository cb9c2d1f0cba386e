"""The workspace's artifact store and the blob storage behind it (rules and files, no HTTP).

An artifact is `(origin, container, path)`, such as `("LocalUpload", "261130T090000-1a2b3c4d",
"model/MLmodel")`, as Azure ML's artifact service names them. Its content is the blob
`<origin>/<container>/<path>` of the blob container `azureml` of the storage account
`STORAGE_ACCOUNT`, a file under `<state dir>/blobs/`. Blob URLs are path-style on the emulator's
host, `https://127.0.0.1:<port>/<account>.blob.<storage suffix>/<container>/<blob>?<sas>`, so that
they match the blob URL azureml-mlflow expects of the cloud (`https://*.blob.<suffix>/*/*?*`) and
azure-storage-blob sends them to the emulator. A SAS is an HMAC of the blob's name and permissions
under the emulator's management token: without a valid one, blob requests are refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from rollout.core.files import write_atomically
from rollout.emulator.constants import STORAGE_ACCOUNT, STORAGE_SUFFIX

BLOB_CONTAINER = "azureml"
SAS_VERSION = "2021-08-06"
SAS_LIFETIME_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Artifact:
    """An artifact of the workspace's artifact service."""

    origin: str
    container: str
    path: str

    @property
    def blob(self) -> str:
        return f"{self.origin}/{self.container}/{self.path}"

    @property
    def artifact_id(self) -> str:
        return f"{self.origin}/{self.container}/{self.path}"


class ArtifactStore:
    """The artifacts and blobs of one emulator, in `root` (the state directory's `blobs/`)."""

    def __init__(self, root: Path, signing_key: str, base_url: str) -> None:
        self.root = root
        self._key = signing_key.encode()
        self._blob_base = f"{base_url.rstrip('/')}/{STORAGE_ACCOUNT}.blob.{STORAGE_SUFFIX}"

    # Artifacts ---------------------------------------------------------------------------------

    def artifact_directory(self, origin: str, container: str, path: str = "") -> Path:
        """Where the artifacts of a container (under `path`) are kept."""
        return self.blob_path(BLOB_CONTAINER, "/".join(p for p in (origin, container, path) if p))

    def list(self, origin: str, container: str, prefix: str = "") -> list[Artifact]:
        """The artifacts of a container (under the path `prefix`), by path."""
        try:
            top = self.artifact_directory(origin, container)
        except ValueError:
            return []
        if not top.is_dir():
            return []
        found = []
        for file in sorted(top.rglob("*")):
            if file.is_file():
                path = file.relative_to(top).as_posix()
                if not prefix or path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                    found.append(Artifact(origin, container, path))
        return found

    def exists(self, artifact: Artifact) -> bool:
        try:
            return self.blob_path(BLOB_CONTAINER, artifact.blob).is_file()
        except ValueError:
            return False

    def content_uri(self, artifact: Artifact, permissions: str = "r") -> str:
        """The blob URL (with a SAS granting `permissions`) of an artifact's content."""
        return self.blob_url(BLOB_CONTAINER, artifact.blob, permissions)

    # Blobs -------------------------------------------------------------------------------------

    def blob_path(self, container: str, blob: str) -> Path:
        """The file of a blob (refusing names that leave the store)."""
        if not blob or not container or "/" in container or container in (".", ".."):
            raise ValueError(f"invalid blob name {container}/{blob}")
        top = (self.root / STORAGE_ACCOUNT / container).resolve()
        path = (top / blob).resolve()
        if not path.is_relative_to(top) or path == top:
            raise ValueError(f"invalid blob name {container}/{blob}")
        return path

    def blob_url(self, container: str, blob: str, permissions: str) -> str:
        expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + SAS_LIFETIME_SECONDS))
        query = {
            "sv": SAS_VERSION,
            "sr": "b",
            "sp": permissions,
            "se": expiry,
            "sig": self._signature(container, blob, permissions, expiry),
        }
        quoted = urllib.parse.quote(f"{container}/{blob}")
        return f"{self._blob_base}/{quoted}?{urllib.parse.urlencode(query)}"

    def sas_allows(self, container: str, blob: str, query: dict[str, str], permission: str) -> bool:
        """Whether the SAS in a blob request's query grants `permission` (r, c, w) and has not expired."""
        permissions, expiry, signature = query.get("sp", ""), query.get("se", ""), query.get("sig", "")
        expected = self._signature(container, blob, permissions, expiry)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return False
        try:
            expires = time.mktime(time.strptime(expiry, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
        except ValueError:
            return False
        return permission in permissions and expires > time.time()

    def write_blob(self, container: str, blob: str, content: bytes) -> Path:
        """Store a block blob (atomically, durably); its file."""
        path = self.blob_path(container, blob)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, content)
        return path

    def _signature(self, container: str, blob: str, permissions: str, expiry: str) -> str:
        message = f"{STORAGE_ACCOUNT}\n{container}/{blob}\n{permissions}\n{expiry}".encode()
        return base64.b64encode(hmac.new(self._key, message, hashlib.sha256).digest()).decode()


def etag(path: Path) -> str:
    stat = path.stat()
    return f'"0x{stat.st_mtime_ns:X}{stat.st_size:X}"'
