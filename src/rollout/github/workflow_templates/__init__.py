"""Templates of the GitHub Actions workflows that `rollout workflow render` fills in from the plan."""
