"""GitHub's REST API through githubkit (typed from GitHub's OpenAPI description), for a base URL:
api.github.com, a GitHub Enterprise Server's `https://HOST/api/v3`, or a local stand-in.

The client speaks API version 2022-11-28, which GitHub Enterprise Server speaks too, and sends no
request from a cache. What GitHub answers is read as the JSON the library types (its TypedDicts,
checked by mypy), not validated field by field: a field GitHub adds or leaves out of an answer
breaks nothing that this code does not read. An error becomes one line (`UserError`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar
from urllib.parse import quote

import httpx
from githubkit import GitHub, TokenAuthStrategy
from githubkit.exception import RequestError, RequestFailed
from githubkit.response import Response

from rollout.core.errors import UserError

if TYPE_CHECKING:
    from githubkit_schemas.v2022_11_28.rest import RestNamespace

API_VERSION: Literal["2022-11-28"] = "2022-11-28"
USER_AGENT = "rollout-github-configure"
PER_PAGE = 100

JSON = TypeVar("JSON")
Item = TypeVar("Item")
Params = ParamSpec("Params")


@dataclass(frozen=True)
class Repository:
    """OWNER/REPO; `segment` quotes a name for a path, as GitHub's routes take it."""

    owner: str
    name: str

    @classmethod
    def parse(cls, text: str | None) -> Repository:
        owner, _, name = (text or "").partition("/")
        if not owner or not name or "/" in name:
            raise UserError("name the repository as --repo OWNER/REPO (or set GITHUB_REPOSITORY)")
        return cls(owner, name)

    def __str__(self) -> str:
        return f"{self.owner}/{self.name}"


def segment(name: str) -> str:
    """A name (environment, branch, login, team slug) as one segment of a route's path."""
    return quote(name, safe="")


class GitHubApi:
    """A githubkit client and the rules this project reads GitHub's answers by; a context manager
    that keeps one connection pool open while it is entered."""

    def __init__(self, api_url: str, token: str) -> None:
        self.api_url = api_url.rstrip("/")
        self._base_path = httpx.URL(self.api_url).raw_path.decode().rstrip("/")
        self._github = GitHub(
            TokenAuthStrategy(token),
            base_url=self.api_url,
            user_agent=USER_AGENT,
            timeout=30.0,
            http_cache=False,
            # The bodies are the library's TypedDicts, checked by mypy; checking them again at run
            # time would drop what GitHub accepts beyond its description (`can_admins_bypass`).
            rest_api_validate_body=False,
        )
        self.rest: RestNamespace = self._github.rest(API_VERSION)

    def __enter__(self) -> GitHubApi:
        self._github.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._github.__exit__()

    def find(
        self, request: Callable[Params, Response[Any, JSON]], *args: Params.args, **kwargs: Params.kwargs
    ) -> JSON | None:
        """The JSON of a GET, or None when GitHub answers 404."""
        with self.answers():
            try:
                return request(*args, **kwargs).json()
            except RequestFailed as exc:
                if exc.response.status_code != 404:
                    raise
        return None

    def every_page(
        self, request: Callable[..., Response[Any, Any]], items: Callable[[Any], list[Item]], **params: Any
    ) -> list[Item]:
        """Every item of a listing, page after page (GitHub's `Link: <...>; rel="next"`), `items`
        taking them out of one page's JSON."""
        paginator = self._github.rest.paginate(
            request,
            lambda response: items(response.json()),
            per_page=PER_PAGE,
            # githubkit sends the next pages with these headers only, not the route's own
            headers={"X-GitHub-Api-Version": API_VERSION},
            **params,
        )
        with self.answers():
            return list(paginator)

    @contextmanager
    def answers(self) -> Iterator[None]:
        """GitHub's errors, and not reaching it, as one line (a UserError)."""
        try:
            yield
        except RequestFailed as exc:
            raise self._failed(exc) from None
        except RequestError as exc:
            raise self._unreachable(exc) from None

    def _failed(self, exc: RequestFailed) -> UserError:
        request = exc.request
        path = request.url.raw_path.decode().partition("?")[0].removeprefix(self._base_path)
        response = exc.response.raw_response
        return UserError(
            f"GitHub answered {response.status_code} to {request.method} {path}: {_message(response)}"
        )

    def _unreachable(self, exc: RequestError[Any]) -> UserError:
        return UserError(f"cannot reach GitHub at {self.api_url}: {exc.exc}")


def _message(response: httpx.Response) -> str:
    """GitHub's `message`, and the `errors` it lists, of an error's answer."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    message = str(body.get("message", "")) if isinstance(body, dict) else ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        details = [e.get("message", str(e)) if isinstance(e, dict) else str(e) for e in errors]
        message = f"{message} ({'; '.join(details)})"
    return message or response.reason_phrase
