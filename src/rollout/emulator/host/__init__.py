"""The emulator as a process: run it (`server`), manage it in the background (`process`),
assemble its app (`app`), its TLS certificates (`tls`) and management token (`access`)."""
