"""The release engine: the steps (deploy, promote, rollback, retire, status) with typed results,
the whole-release run, roles, the lock, bake and canary analysis. Talks to targets through
`rollout.azureml`; reads the project through `rollout.project`."""
