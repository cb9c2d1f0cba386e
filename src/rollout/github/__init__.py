"""GitHub: the release and rollback workflows rendered from the plan (templates in
`workflow_templates/`), the pin-change gate, JUnit summaries, and environments as code (`rollout
github configure`, through githubkit). Imports `rollout.project` and `rollout.core` only."""
