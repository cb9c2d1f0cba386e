"""The workspace's artifact store and the blob storage behind it (rules and files, no HTTP).

An artifact is `(origin, container, path)`, such as `("LocalUpload", "261130T090000-1a2b3c4d",
"model/MLmodel")`, as Azure ML's artifact service names them. Its content is the blob
`<origin>/<container>/<path>` of the blob container `azureml` of the storage account
`STORAGE_ACCOUNT`, a file under `<state dir>/blobs/`. Blob URLs are path-style on the emulator's
host, `https://127.0.0.1:<port>/<account>.blob.<storage suffix>/<container>/<blob>?<sas>`, so that
they match the blob URL azureml-mlflow expects of the cloud (`https://*.blob.<suffix>/*/*?*`) and
azure-storage-blob sends them to the emulator. A SAS is an HMAC of the blob's name (or, for a
container SAS, `sr=c`, of the container's) and permissions under the emulator's management token:
without a valid one, or a bearer token of a principal whose roles grant the request's data action
(the management token, or an identity's token: see control/principals), blob requests are
refused. A blob's metadata (`x-ms-meta-*`) is kept beside the blobs, under
`<state dir>/blobs/.metadata/`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from rollout.core.files import write_atomically
from rollout.emulator.constants import STORAGE_ACCOUNT, STORAGE_SUFFIX

BLOB_CONTAINER = "azureml"
SAS_VERSION = "2021-08-06"
SAS_LIFETIME_SECONDS = 24 * 3600
METADATA_DIR = ".metadata"


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

    def container_exists(self, container: str) -> bool:
        """Whether a container of the storage account exists: the workspace's (`azureml`), or one a
        blob was written to (the emulator creates a container with its first blob)."""
        if not container or "/" in container or container in (".", ".."):
            return False
        return container == BLOB_CONTAINER or (self.root / STORAGE_ACCOUNT / container).is_dir()

    def blob_location(self, url: str) -> tuple[str, str] | None:
        """The container and blob (or blob prefix) a blob URL of this storage account names, else None."""
        parsed = urllib.parse.urlsplit(url)
        base = urllib.parse.urlsplit(self._blob_base)
        if (parsed.scheme, parsed.netloc) != (base.scheme, base.netloc):
            return None
        path = urllib.parse.unquote(parsed.path)
        if not path.startswith(base.path + "/"):
            return None
        container, _, blob = path[len(base.path) + 1 :].partition("/")
        return (container, blob.strip("/")) if container and blob.strip("/") else None

    def container_url(self, container: str, permissions: str) -> str:
        """The URL of a blob container with a container SAS granting `permissions` on all its blobs."""
        return self._signed_url(container, "", permissions)

    def container_base(self, container: str) -> str:
        """The URL of a blob container, without a SAS."""
        return f"{self._blob_base}/{urllib.parse.quote(container)}"

    def blob_url(self, container: str, blob: str, permissions: str) -> str:
        """The URL of a blob with a SAS granting `permissions` on it."""
        return self._signed_url(container, blob, permissions)

    def _signed_url(self, container: str, blob: str, permissions: str) -> str:
        """A blob's URL with its SAS, or (no `blob`) its container's URL with a container SAS."""
        expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + SAS_LIFETIME_SECONDS))
        query = {
            "sv": SAS_VERSION,
            "sr": "b" if blob else "c",
            "sp": permissions,
            "se": expiry,
            "sig": self._signature(container, blob, permissions, expiry),
        }
        quoted = urllib.parse.quote(f"{container}/{blob}" if blob else container)
        return f"{self._blob_base}/{quoted}?{urllib.parse.urlencode(query)}"

    def sas_allows(self, container: str, blob: str, query: dict[str, str], permission: str) -> bool:
        """Whether the SAS in a blob request's query (a blob's, or its container's: `sr=c`) grants
        `permission` (r, c, w) and has not expired."""
        permissions, expiry, signature = query.get("sp", ""), query.get("se", ""), query.get("sig", "")
        signed = "" if query.get("sr") == "c" else blob
        expected = self._signature(container, signed, permissions, expiry)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return False
        try:
            expires = time.mktime(time.strptime(expiry, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
        except ValueError:
            return False
        return permission in permissions and expires > time.time()

    def write_blob(
        self, container: str, blob: str, content: bytes, metadata: dict[str, str] | None = None
    ) -> Path:
        """Store a block blob (atomically, durably) with its metadata (a new blob's replaces the old's);
        its file."""
        path = self.blob_path(container, blob)
        _write_atomically(path, content)
        self.set_metadata(container, blob, metadata or {})
        return path

    def metadata(self, container: str, blob: str) -> dict[str, str]:
        """A blob's metadata ({} when it has none)."""
        path = self._metadata_path(container, blob)
        return dict(json.loads(path.read_text())) if path.is_file() else {}

    def set_metadata(self, container: str, blob: str, metadata: dict[str, str]) -> None:
        """Replace a blob's metadata."""
        path = self._metadata_path(container, blob)
        if metadata:
            _write_atomically(path, json.dumps(metadata).encode())
        else:
            path.unlink(missing_ok=True)

    def blob_directory(self, container: str, prefix: str) -> Path:
        """The directory holding the blobs of a container under a prefix (a folder uploaded there)."""
        return self.blob_path(container, prefix)

    def _metadata_path(self, container: str, blob: str) -> Path:
        path = self.blob_path(container, blob)
        relative = path.relative_to(self.root.resolve())
        return self.root.resolve() / METADATA_DIR / relative.parent / f"{relative.name}.json"

    def _signature(self, container: str, blob: str, permissions: str, expiry: str) -> str:
        resource = f"{container}/{blob}" if blob else container
        message = f"{STORAGE_ACCOUNT}\n{resource}\n{permissions}\n{expiry}".encode()
        return base64.b64encode(hmac.new(self._key, message, hashlib.sha256).digest()).decode()


def _write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, content)


def etag(path: Path) -> str:
    stat = path.stat()
    return f'"0x{stat.st_mtime_ns:X}{stat.st_size:X}"'
