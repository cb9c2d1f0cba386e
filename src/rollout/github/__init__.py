"""GitHub: the release and rollback workflows rendered from the plan (templates in
`workflow_templates/`), the pin-change gate, JUnit summaries, and environments as code. Imports
`rollout.project` only."""
