"""A local stand-in for the parts of GitHub's REST API that `rollout github configure` uses, and a
workflow run's review history (who approved its environments), which a stage job reads.

It runs on a free loopback port in a thread, keeps environments, users, teams, deployment
branch policies, environment variables and branch protection in memory, answers in GitHub's
shapes (a listing by pages, the next one named in a `Link` header), and checks every request: the
headers GitHub expects and each body against the JSON schema of what the API accepts. A request
that breaks a rule is answered the way GitHub would (401, 404, 422) and recorded in `violations`.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import jsonschema

API_VERSION = "2022-11-28"
ACCEPT = "application/vnd.github+json"

# What PUT /repos/{owner}/{repo}/environments/{environment_name} accepts.
PUT_ENVIRONMENT_SCHEMA = {
    "type": ["object", "null"],
    "additionalProperties": False,
    "properties": {
        "wait_timer": {"type": "integer", "minimum": 0, "maximum": 43200},
        "prevent_self_review": {"type": "boolean"},
        "reviewers": {
            "type": ["array", "null"],
            "maxItems": 6,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"type": {"enum": ["User", "Team"]}, "id": {"type": "integer"}},
            },
        },
        "deployment_branch_policy": {
            "type": ["object", "null"],
            "additionalProperties": False,
            "required": ["protected_branches", "custom_branch_policies"],
            "properties": {
                "protected_branches": {"type": "boolean"},
                "custom_branch_policies": {"type": "boolean"},
            },
        },
        "can_admins_bypass": {"type": "boolean"},
    },
}

# What POST .../environments/{environment_name}/deployment-branch-policies accepts.
POST_POLICY_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {"name": {"type": "string", "minLength": 1}, "type": {"enum": ["branch", "tag"]}},
}

# What POST .../environments/{environment_name}/variables and PATCH .../variables/{name} accept.
POST_VARIABLE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "value"],
    "properties": {"name": {"type": "string", "minLength": 1}, "value": {"type": "string"}},
}
PATCH_VARIABLE_SCHEMA = {**POST_VARIABLE_SCHEMA, "required": []}

# What PUT /repos/{owner}/{repo}/branches/{branch}/protection accepts (the parts rollout sends
# closed; the four top-level keys are required, each may be null).
PUT_PROTECTION_SCHEMA = {
    "type": "object",
    "required": ["required_status_checks", "enforce_admins", "required_pull_request_reviews", "restrictions"],
    "properties": {
        "required_status_checks": {
            "type": ["object", "null"],
            "additionalProperties": False,
            "required": ["strict", "contexts"],
            "properties": {
                "strict": {"type": "boolean"},
                "contexts": {"type": "array", "items": {"type": "string"}},
                "checks": {"type": "array"},
            },
        },
        "enforce_admins": {"type": ["boolean", "null"]},
        "required_pull_request_reviews": {
            "type": ["object", "null"],
            "additionalProperties": False,
            "properties": {
                "dismissal_restrictions": {"type": "object"},
                "dismiss_stale_reviews": {"type": "boolean"},
                "require_code_owner_reviews": {"type": "boolean"},
                "required_approving_review_count": {"type": "integer", "minimum": 0, "maximum": 6},
                "require_last_push_approval": {"type": "boolean"},
                "bypass_pull_request_allowances": {"type": "object"},
            },
        },
        "restrictions": {"type": ["object", "null"]},
        "required_linear_history": {"type": "boolean"},
        "allow_force_pushes": {"type": ["boolean", "null"]},
        "allow_deletions": {"type": "boolean"},
        "block_creations": {"type": "boolean"},
        "required_conversation_resolution": {"type": "boolean"},
        "lock_branch": {"type": "boolean"},
        "allow_fork_syncing": {"type": "boolean"},
    },
}

# The fields of an environment in a run's review history.
_REVIEWED_ENVIRONMENT = ("id", "node_id", "name", "url", "html_url", "created_at", "updated_at")

_ENV = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/environments/(?P<env>[^/]+)"


@dataclass
class Page:
    """One page of a listing, and the URL of the next one (GitHub's `Link: <URL>; rel="next"`)."""

    body: Any
    next_url: str | None


@dataclass
class Recorded:
    method: str
    path: str  # decoded, without the query
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class Environment:
    id: int
    name: str
    wait_timer: int = 0
    prevent_self_review: bool = False
    reviewers: list[tuple[str, int]] = field(default_factory=list)
    branch_policy: dict[str, bool] | None = None
    can_admins_bypass: bool = True
    policies: list[dict[str, Any]] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)  # by upper-case name


class FakeGitHub:
    """State and rules of the fake API; `url` is its base URL once started."""

    def __init__(self, owner: str = "acme", repo: str = "models", token: str = "test-token") -> None:
        self.owner, self.repo, self.token = owner, repo, token
        self.users: dict[str, int] = {}
        self.teams: dict[tuple[str, str], int] = {}
        self.environments: dict[str, Environment] = {}
        self.variables: dict[str, str] = {}  # the repository's Actions variables, by upper-case name
        # The repository's branches and their protection (the PUT body as sent), None if unprotected.
        self.branches: dict[str, dict[str, Any] | None] = {"main": None}
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.forced: dict[tuple[str, str], tuple[int, str]] = {}  # (method, path) -> (status, message)
        self.reviews: dict[int, list[tuple[list[str], str, str, str]]] = {}  # run id -> reviews
        self._ids = itertools.count(1000)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # --- seeding -------------------------------------------------------------------------------

    def add_user(self, login: str) -> int:
        self.users[login] = next(self._ids)
        return self.users[login]

    def add_team(self, slug: str, org: str | None = None) -> int:
        self.teams[(org or self.owner, slug)] = next(self._ids)
        return self.teams[(org or self.owner, slug)]

    def add_environment(self, name: str, **settings: Any) -> Environment:
        environment = Environment(id=next(self._ids), name=name, **settings)
        self.environments[name] = environment
        return environment

    def add_policy(self, environment: str, pattern: str) -> int:
        policy_id = next(self._ids)
        self.environments[environment].policies.append(
            {"id": policy_id, "node_id": f"P_{policy_id}", "name": pattern, "type": "branch"}
        )
        return policy_id

    def add_review(
        self, run_id: int, environments: list[str], login: str, state: str = "approved", comment: str = ""
    ) -> None:
        """A reviewer's answer for some environments of a workflow run, in the run's review history."""
        self.reviews.setdefault(run_id, []).append((environments, state, login, comment))

    @property
    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]

    # --- serving -------------------------------------------------------------------------------

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                status, body = fake.handle(self)
                next_url = None
                if isinstance(body, Page):
                    body, next_url = body.body, body.next_url
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if next_url:
                    self.send_header("Link", f'<{next_url}>; rel="next"')
                if data:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- request handling ----------------------------------------------------------------------

    def handle(self, request: BaseHTTPRequestHandler) -> tuple[int, Any]:
        parts = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        recorded = Recorded(
            request.command, unquote(parts.path), parse_qs(parts.query), dict(request.headers.items()), body
        )
        with self._lock:
            self.requests.append(recorded)
            return self._route(recorded, raw)

    def _violation(self, status: int, message: str) -> tuple[int, Any]:
        self.violations.append(message)
        return status, {"message": message, "documentation_url": "https://docs.github.com/rest"}

    def _route(self, r: Recorded, raw: bytes) -> tuple[int, Any]:
        # GitHub takes a token as `Bearer TOKEN` or `token TOKEN`.
        if r.headers.get("Authorization") not in (f"Bearer {self.token}", f"token {self.token}"):
            return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
        if r.headers.get("Accept") != ACCEPT:
            return self._violation(415, f"{r.method} {r.path}: Accept is {r.headers.get('Accept')!r}")
        if r.headers.get("X-GitHub-Api-Version") != API_VERSION:
            return self._violation(400, f"{r.method} {r.path}: X-GitHub-Api-Version missing or unknown")
        if raw and not r.headers.get("Content-Type", "").startswith("application/json"):
            return self._violation(415, f"{r.method} {r.path}: body is not sent as JSON")
        if (r.method, r.path) in self.forced:
            status, message = self.forced[(r.method, r.path)]
            return status, {"message": message, "documentation_url": "https://docs.github.com/rest"}
        if m := re.fullmatch(r"/users/([^/]+)", r.path):
            user_id = self.users.get(m.group(1))
            return (200, self._user(m.group(1), user_id)) if user_id else (404, {"message": "Not Found"})
        if m := re.fullmatch(r"/orgs/([^/]+)/teams/([^/]+)", r.path):
            team_id = self.teams.get((m.group(1), m.group(2)))
            return (200, self._team(m.group(2), team_id)) if team_id else (404, {"message": "Not Found"})
        repo = rf"/repos/{re.escape(self.owner)}/{re.escape(self.repo)}"
        if (m := re.fullmatch(repo + r"/actions/runs/(\d+)/approvals", r.path)) and r.method == "GET":
            return 200, self._reviews(int(m.group(1)))
        if (m := re.fullmatch(repo + r"/branches/([^/]+)/protection", r.path)) and r.method in ("GET", "PUT"):
            return self._protection(m.group(1), r.method, r.body)
        if m := re.fullmatch(repo + r"/environments/([^/]+)/variables(?:/([^/]+))?", r.path):
            return self._variables(m.group(1), m.group(2), r.method, r.body)
        if m := re.fullmatch(repo + r"/actions/variables(?:/([^/]+))?", r.path):
            return self._variable_store(self.variables, "the repository", m.group(1), r.method, r.body)
        m = re.fullmatch(_ENV + r"(?P<rest>/deployment-branch-policies(?:/(?P<policy>\d+))?)?", r.path)
        if m is None or (m.group("owner"), m.group("repo")) != (self.owner, self.repo):
            return 404, {"message": "Not Found"}
        name = m.group("env")
        if m.group("rest") is None:
            if r.method == "GET":
                environment = self.environments.get(name)
                return (
                    (200, self._environment(environment)) if environment else (404, {"message": "Not Found"})
                )
            if r.method == "PUT":
                return self._put_environment(name, r.body)
        elif m.group("policy") is None:
            if r.method == "GET":
                return self._list_policies(name, r.query)
            if r.method == "POST":
                return self._create_policy(name, r.body)
        elif r.method == "DELETE":
            return self._delete_policy(name, int(m.group("policy")))
        return self._violation(404, f"{r.method} {r.path}: no such route")

    def _put_environment(self, name: str, body: Any) -> tuple[int, Any]:
        try:
            jsonschema.validate(body, PUT_ENVIRONMENT_SCHEMA)
        except jsonschema.ValidationError as exc:
            return self._violation(422, f"PUT environment {name}: invalid body: {exc.message}")
        body = body or {}
        policy = body.get("deployment_branch_policy")
        if policy and policy["protected_branches"] and policy["custom_branch_policies"]:
            return self._violation(422, "protected_branches and custom_branch_policies cannot both be true")
        known = {("User", i) for i in self.users.values()} | {("Team", i) for i in self.teams.values()}
        reviewers = [(entry["type"], entry["id"]) for entry in body.get("reviewers") or []]
        unknown = [r for r in reviewers if r not in known]
        if unknown:
            return self._violation(422, f"PUT environment {name}: unknown reviewers {unknown}")
        environment = self.environments.get(name) or self.add_environment(name)
        if "wait_timer" in body:
            environment.wait_timer = body["wait_timer"]
        if "prevent_self_review" in body:
            environment.prevent_self_review = body["prevent_self_review"]
        if "reviewers" in body:
            environment.reviewers = reviewers
        if "can_admins_bypass" in body:
            environment.can_admins_bypass = body["can_admins_bypass"]
        if "deployment_branch_policy" in body:
            environment.branch_policy = policy
            if not (policy and policy["custom_branch_policies"]):
                environment.policies = []
        return 200, self._environment(environment)

    def _custom(self, name: str) -> Environment | None:
        environment = self.environments.get(name)
        if environment and environment.branch_policy and environment.branch_policy["custom_branch_policies"]:
            return environment
        return None

    def _list_policies(self, name: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        environment = self.environments.get(name)
        if environment is None:
            return 404, {"message": "Not Found"}
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        chunk = environment.policies[(page - 1) * per_page : page * per_page]
        body = {"total_count": len(environment.policies), "branch_policies": chunk}
        if page * per_page >= len(environment.policies):
            return 200, Page(body, None)
        environment_url = f"{self.url}/repos/{self.owner}/{self.repo}/environments/{quote(name, safe='')}"
        next_page = f"deployment-branch-policies?per_page={per_page}&page={page + 1}"
        return 200, Page(body, f"{environment_url}/{next_page}")

    def _create_policy(self, name: str, body: Any) -> tuple[int, Any]:
        try:
            jsonschema.validate(body, POST_POLICY_SCHEMA)
        except jsonschema.ValidationError as exc:
            return self._violation(422, f"POST branch policy {name}: invalid body: {exc.message}")
        environment = self._custom(name)
        if environment is None:
            return self._violation(404, f"POST branch policy {name}: custom branch policies are off")
        if any(p["name"] == body["name"] for p in environment.policies):
            return self._violation(303, f"POST branch policy {name}: {body['name']} exists")
        policy_id = self.add_policy(name, body["name"])
        return 200, environment.policies[-1] | {"id": policy_id}

    def _delete_policy(self, name: str, policy_id: int) -> tuple[int, Any]:
        environment = self._custom(name)
        if environment is None or not any(p["id"] == policy_id for p in environment.policies):
            return self._violation(404, f"DELETE branch policy {policy_id} of {name}: not found")
        environment.policies = [p for p in environment.policies if p["id"] != policy_id]
        return 204, None

    def _variables(self, name: str, variable: str | None, method: str, body: Any) -> tuple[int, Any]:
        environment = self.environments.get(name)
        if environment is None:
            return self._violation(404, f"{method} variable of {name}: no such environment")
        return self._variable_store(environment.variables, name, variable, method, body)

    def _variable_store(
        self, store: dict[str, str], name: str, variable: str | None, method: str, body: Any
    ) -> tuple[int, Any]:
        """The variables of an environment (`name`) or of the repository, kept in `store`."""
        if variable is None and method == "POST":
            try:
                jsonschema.validate(body, POST_VARIABLE_SCHEMA)
            except jsonschema.ValidationError as exc:
                return self._violation(422, f"POST variable of {name}: invalid body: {exc.message}")
            if body["name"].upper() in store:
                return self._violation(409, f"POST variable of {name}: {body['name']} already exists")
            store[body["name"].upper()] = body["value"]
            return 201, {}
        if variable is not None and method == "GET":
            value = store.get(variable.upper())
            if value is None:
                return 404, {"message": "Not Found"}
            return 200, {
                "name": variable.upper(),
                "value": value,
                "created_at": "2024-01-01T00:00:00Z",
                "updated_at": "2024-01-01T00:00:00Z",
            }
        if variable is not None and method == "PATCH":
            try:
                jsonschema.validate(body, PATCH_VARIABLE_SCHEMA)
            except jsonschema.ValidationError as exc:
                return self._violation(
                    422, f"PATCH variable {variable} of {name}: invalid body: {exc.message}"
                )
            if variable.upper() not in store:
                return self._violation(404, f"PATCH variable {variable} of {name}: not found")
            new_name = body.get("name", variable).upper()
            value = store.pop(variable.upper())
            store[new_name] = body.get("value", value)
            return 204, None
        return self._violation(404, f"{method} variables of {name}: no such route")

    def _protection(self, branch: str, method: str, body: Any) -> tuple[int, Any]:
        if branch not in self.branches:
            return 404, {"message": "Branch not found"}
        if method == "GET":
            protection = self.branches[branch]
            if protection is None:
                return 404, {"message": "Branch not protected"}
            return 200, self._protection_shape(branch, protection)
        try:
            jsonschema.validate(body, PUT_PROTECTION_SCHEMA)
        except jsonschema.ValidationError as exc:
            return self._violation(422, f"PUT protection of {branch}: invalid body: {exc.message}")
        self.branches[branch] = body
        return 200, self._protection_shape(branch, body)

    # --- GitHub's response shapes --------------------------------------------------------------

    def _user(self, login: str, user_id: int | None) -> dict[str, Any]:
        return {"login": login, "id": user_id, "node_id": f"U_{user_id}", "type": "User", "site_admin": False}

    def _team(self, slug: str, team_id: int | None) -> dict[str, Any]:
        return {"id": team_id, "node_id": f"T_{team_id}", "slug": slug, "name": slug, "privacy": "closed"}

    def _reviewer(self, kind: str, reviewer_id: int) -> dict[str, Any]:
        if kind == "User":
            login = next(login for login, i in self.users.items() if i == reviewer_id)
            return {"type": "User", "reviewer": self._user(login, reviewer_id)}
        (_, slug) = next(key for key, i in self.teams.items() if i == reviewer_id)
        return {"type": "Team", "reviewer": self._team(slug, reviewer_id)}

    def _reviews(self, run_id: int) -> list[dict[str, Any]]:
        """A run's review history as GET .../actions/runs/{run_id}/approvals answers it."""
        answers = []
        for environments, state, login, comment in self.reviews.get(run_id, []):
            known = [self.environments.get(name) or self.add_environment(name) for name in environments]
            user_id = self.users.get(login) or self.add_user(login)
            answers.append(
                {
                    "environments": [
                        {k: v for k, v in self._environment(e).items() if k in _REVIEWED_ENVIRONMENT}
                        for e in known
                    ],
                    "state": state,
                    "user": self._user(login, user_id),
                    "comment": comment,
                }
            )
        return answers

    def _environment(self, environment: Environment) -> dict[str, Any]:
        rules: list[dict[str, Any]] = []
        if environment.wait_timer:
            rules.append(
                {"id": environment.id + 1, "type": "wait_timer", "wait_timer": environment.wait_timer}
            )
        if environment.reviewers:
            rules.append(
                {
                    "id": environment.id + 2,
                    "type": "required_reviewers",
                    "prevent_self_review": environment.prevent_self_review,
                    "reviewers": [self._reviewer(kind, i) for kind, i in environment.reviewers],
                }
            )
        if environment.branch_policy:
            rules.append({"id": environment.id + 3, "type": "branch_policy"})
        base = f"https://api.github.com/repos/{self.owner}/{self.repo}/environments/{environment.name}"
        return {
            "id": environment.id,
            "node_id": f"EN_{environment.id}",
            "name": environment.name,
            "url": base,
            "html_url": f"https://github.com/{self.owner}/{self.repo}/deployments/{environment.name}",
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "can_admins_bypass": environment.can_admins_bypass,
            "protection_rules": rules,
            "deployment_branch_policy": environment.branch_policy,
        }

    def _protection_shape(self, branch: str, body: dict[str, Any]) -> dict[str, Any]:
        """A protection as GET .../branches/{branch}/protection returns it."""
        url = f"https://api.github.com/repos/{self.owner}/{self.repo}/branches/{branch}/protection"
        shape: dict[str, Any] = {"url": url}
        checks = body["required_status_checks"]
        if checks is not None:
            contexts = checks["contexts"]
            shape["required_status_checks"] = {
                "url": f"{url}/required_status_checks",
                "strict": checks["strict"],
                "contexts": contexts,
                "checks": [{"context": context, "app_id": None} for context in contexts],
            }
        reviews = body["required_pull_request_reviews"]
        if reviews is not None:
            shape["required_pull_request_reviews"] = {
                "url": f"{url}/required_pull_request_reviews",
                "dismiss_stale_reviews": reviews.get("dismiss_stale_reviews", False),
                "require_code_owner_reviews": reviews.get("require_code_owner_reviews", False),
                "required_approving_review_count": reviews.get("required_approving_review_count", 0),
                "require_last_push_approval": reviews.get("require_last_push_approval", False),
            }
        shape["enforce_admins"] = {"url": f"{url}/enforce_admins", "enabled": bool(body["enforce_admins"])}
        for key in ("required_linear_history", "allow_force_pushes", "allow_deletions", "block_creations"):
            shape[key] = {"enabled": bool(body.get(key))}
        shape["required_conversation_resolution"] = {
            "enabled": bool(body.get("required_conversation_resolution"))
        }
        shape["lock_branch"] = {"enabled": bool(body.get("lock_branch"))}
        shape["allow_fork_syncing"] = {"enabled": bool(body.get("allow_fork_syncing"))}
        return shape
