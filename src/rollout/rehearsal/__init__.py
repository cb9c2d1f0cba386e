"""The offline rehearsal of the release workflows: `act` runs the real `.github/workflows/*.yml` on
this machine against a prepared lab (a registry, the emulator, an endpoint serving the old pin).

- `act`: finding and running act, its JSON log read into typed job results
- `repository`: the git copy of the project, the pin change and the webhook events
- `lab`: the lab (registry, emulator, models) and the scenarios that push or dispatch
"""
