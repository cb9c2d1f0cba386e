"""Recorded exchanges with a target: what `--record DIR` saves (ARM, Azure Monitor and scoring, each
exchange scrubbed of secrets and ids before it is written) and their replay against the emulator,
which says where the emulator's answers differ from the recorded ones in status, headers or shape.
"""
