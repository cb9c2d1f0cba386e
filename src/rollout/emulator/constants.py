"""Fixed names of the emulated Azure scope: the one subscription, resource group and workspace it serves."""

from __future__ import annotations

HOST = "127.0.0.1"
SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
RESOURCE_GROUP = "local"
WORKSPACE = "local"
LOCATION = "local"
PORT_TAKEN_MARK = "port taken"  # in the error a server prints when it cannot listen
