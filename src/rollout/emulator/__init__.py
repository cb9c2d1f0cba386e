"""A local emulator of Azure ML managed online endpoints (its map: docs/development.md, "Where things live").

Imports go one way, top to bottom; nothing here imports the client side but `rollout.core.paths` and
`rollout.__version__`.
"""
