"""Fixed names of the emulated Azure scope: the one subscription, resource group and workspace it serves."""

from __future__ import annotations

HOST = "127.0.0.1"
SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
RESOURCE_GROUP = "local"
WORKSPACE = "local"
LOCATION = "local"
PORT_TAKEN_MARK = "port taken"  # in the error a server prints when it cannot listen

# The emulator presented as an Azure cloud: the name clients select with $AZUREML_CURRENT_CLOUD and
# the path of its ARM cloud-metadata document ($ARM_CLOUD_METADATA_URL = <emulator url> + the path).
CLOUD_NAME = "RolloutEmulator"
CLOUD_METADATA_PATH = "/metadata/endpoints"
CLOUD_METADATA_API_VERSION = "2019-05-01"
# The storage suffix of that cloud: blob URLs the emulator hands out look like
# https://127.0.0.1:<port>/<account>.blob.<suffix>/<container>/<path>?<sas> (path-style).
STORAGE_SUFFIX = "core.windows.net"
STORAGE_ACCOUNT = "rolloutemulator"
