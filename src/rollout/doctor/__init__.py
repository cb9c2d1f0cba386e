"""`rollout doctor`: a read-only preflight of a target and a project.

`gather` reads the facts (the credential, each identity's permissions, the live endpoint) over the
target's own clients and changes nothing; `rules` turns typed facts into checks, each with a line of
advice when it fails; `checks` holds the result types.
"""
