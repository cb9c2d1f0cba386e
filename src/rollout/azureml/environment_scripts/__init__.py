"""Scripts that run in a model's own environment, never in rollout's (they import no `rollout`)."""
