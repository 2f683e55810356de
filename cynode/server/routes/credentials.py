"""Egress credentials (spec/gateway.md §14): create, list, get, rotate, disable, re-enable. Every `/v1/credentials`
path is also served as `/v1/creds`.

A secret is write-only: sealed (secretbox) before it reaches the store, and never in a response, a log line or an
audit event. Manageable = the caller's own user credential, or anything for an admin; group credentials are
admin-only. A credential the caller may not manage is a 404, exactly like a missing one, so ids reveal nothing.
"""

import datetime
import re
import uuid

from cynode.contract import credential_env_name, parse_rfc3339, rfc3339
from cynode.secretbox import credential_aad
from cynode.server.apidoc import BOOL, IN, PAGING, STR, TIME, UUID, errors, json_body, obj, ok, op, ref
from cynode.server.audit import audit
from cynode.server.auth import authenticate
from cynode.server.deps import Reply
from cynode.server.errors import ApiError, BadRequest, Conflict, Forbidden, NotFound
from cynode.server.jsonio import ONE_LINE, is_uuid, page, page_params, query_text, read_json, text_field
from cynode.store.credentials import CredentialExists, CredentialFilter

OWNER_TYPES = ("user", "group")
MAX_SECRET_BYTES = 64 * 1024
MAX_PROVIDER_LENGTH = 128
# Names become environment variables of jobs (CYNODE_CRED_<NAME>), so they are kept to a portable alphabet.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
DEFAULT_TYPE = "api_key"
NOT_FOUND = "Credential not found"


def credential_json(cred) -> dict:
    body = {"id": cred.id, "credential_id": cred.id, "owner_type": cred.owner_type, "owner_id": cred.owner_id,
            "provider": cred.provider, "credential_name": cred.credential_name, "name": cred.credential_name,
            "credential_type": cred.credential_type, "is_active": cred.is_active, "active": cred.is_active}
    if cred.expires_at:
        body["expires_at"] = rfc3339(cred.expires_at)
    body["created_at"], body["updated_at"] = rfc3339(cred.created_at), rfc3339(cred.updated_at)
    return body


def manageable(user, cred) -> bool:
    return user.is_admin or (cred.owner_type == "user" and cred.owner_id == user.id)


def _seal(deps, secret: str, credential_id: str, owner_type: str, owner_id: str) -> tuple[str, str]:
    """(sealed secret bound to its row, key id); 503 when this server has no key."""
    if deps.secretbox is None:
        raise ApiError("credentials are not available: this server has no credentials key", status=503)
    return (deps.secretbox.seal(secret, credential_aad(credential_id, owner_type, owner_id)),
            deps.secretbox.kid)


def _secret(body: dict) -> str:
    secret = body.get("secret")
    if secret is None or secret == "":
        raise BadRequest("secret is required and must not be empty")
    if not isinstance(secret, str):
        raise BadRequest("secret must be a string")
    if len(secret.encode("utf-8")) > MAX_SECRET_BYTES:
        raise BadRequest(f"secret exceeds {MAX_SECRET_BYTES} bytes")
    return secret


def _checked(body: dict, key: str, pattern: re.Pattern, rule: str, *, default: str | None = None) -> str:
    value = text_field(body, key, required=default is None)
    if value is None:
        return default
    if not pattern.fullmatch(value):
        raise BadRequest(f"{key} must be {rule}")
    return value


def _expires_at(body: dict) -> datetime.datetime | None:
    raw = body.get("expires_at")
    if raw is None or raw == "":
        return None
    moment = parse_rfc3339(raw) if isinstance(raw, str) else None
    if moment is None:
        raise BadRequest("expires_at must be an RFC 3339 time with a zone, e.g. 2027-01-01T00:00:00Z")
    moment = moment.replace(microsecond=0)
    if moment <= datetime.datetime.now(datetime.UTC).replace(tzinfo=None):
        raise BadRequest("expires_at must be in the future")
    return moment


def _owner(deps, user, body: dict) -> tuple[str, str]:
    owner_type = text_field(body, "owner_type", required=False) or "user"
    if owner_type not in OWNER_TYPES:
        raise BadRequest("owner_type must be one of: user, group")
    owner_id = text_field(body, "owner_id", required=False) or None  # "" is no owner id, as for owner_type
    if owner_type == "group":
        if not user.is_admin:
            raise Forbidden("Admin required for group credentials")
        if owner_id is None or not is_uuid(owner_id):
            raise BadRequest("owner_id must be the group's id (a UUID) for a group credential")
        return owner_type, owner_id.lower()
    if owner_id is None:
        return owner_type, user.id
    if not is_uuid(owner_id):
        raise BadRequest("owner_id must be a user id (a UUID)")
    owner_id = owner_id.lower()
    if owner_id != user.id:
        if not user.is_admin:
            raise Forbidden("Admin required to create another user's credential")
        if deps.store.user_by_id(owner_id) is None:
            raise BadRequest("owner_id: no such user")
    return owner_type, owner_id


def _described(body: dict) -> tuple[str, str, str, datetime.datetime | None]:
    """(provider, name, credential_type, expires_at) of a create request, each checked."""
    provider = _checked(body, "provider", ONE_LINE,
                        f"1-{MAX_PROVIDER_LENGTH} characters, not only spaces, no control characters")
    if len(provider) > MAX_PROVIDER_LENGTH:
        raise BadRequest(f"provider must be at most {MAX_PROVIDER_LENGTH} characters")
    if not body.get("credential_name") and body.get("name"):
        body["credential_name"] = body["name"]
    name = _checked(body, "credential_name", NAME_PATTERN,
                    "1-128 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit")
    credential_type = _checked(body, "credential_type", TYPE_PATTERN, "lower-case letters, digits and _ (1-32)",
                               default=DEFAULT_TYPE)
    return provider, name, credential_type, _expires_at(body)


def create_credential(deps, req):
    user = authenticate(deps, req).user
    body = read_json(req)
    provider, name, credential_type, expires_at = _described(body)
    owner_type, owner_id = _owner(deps, user, body)
    credential_id = str(uuid.uuid4())
    sealed, kid = _seal(deps, _secret(body), credential_id, owner_type, owner_id)
    try:
        cred = deps.store.create_credential(credential_id, owner_type=owner_type, owner_id=owner_id,
                                            provider=provider, credential_type=credential_type, name=name,
                                            ciphertext=sealed, kid=kid, expires_at=expires_at, updated_by=user.id)
    except CredentialExists:
        raise Conflict(f"a credential named {name!r} for provider {provider!r} already exists for this owner") \
            from None
    audit(deps, req, "credential.create", "credential", cred.id,
          details={"provider": provider, "name": name, "owner_type": owner_type, "owner_id": owner_id})
    return Reply(201, credential_json(cred))


def _bool_query(query: dict, key: str) -> bool | None:
    raw = query.get(key)
    if raw in (None, ""):
        return None
    if raw not in ("true", "false"):
        raise BadRequest(f"{key} must be true or false")
    return raw == "true"


def list_credentials(deps, req):
    user = authenticate(deps, req).user
    limit, offset = page_params(req.query)
    query = query_text(req)
    owner_type = query.get("owner_type") or None
    if owner_type is not None and owner_type not in OWNER_TYPES:
        raise BadRequest("owner_type must be one of: user, group")
    owner_id = (query.get("owner_id") or "").lower() or None
    where = CredentialFilter(owner_type, owner_id, query.get("provider") or None, _bool_query(query, "active"))
    if not user.is_admin:  # a user manages only their own user credentials: other filters can only narrow that
        if (owner_type or "user") != "user" or (owner_id or user.id) != user.id:
            return {"credentials": []}
        where = CredentialFilter("user", user.id, where.provider, where.is_active)
    found = deps.store.list_credentials(where, limit + 1, offset)
    return page([credential_json(c) for c in found], limit, offset, "credentials")


def _managed(deps, req, credential_id: str):
    """The caller and the credential they may manage; 404 for a missing one and for anyone else's alike."""
    user = authenticate(deps, req).user
    cred = deps.store.credential_by_id(credential_id.lower()) if is_uuid(credential_id) else None
    if cred is None or not manageable(user, cred):
        raise NotFound(NOT_FOUND)
    return user, cred


def get_credential(deps, req, credential_id):
    return credential_json(_managed(deps, req, credential_id)[1])


def rotate_credential(deps, req, credential_id):
    user, cred = _managed(deps, req, credential_id)
    sealed, kid = _seal(deps, _secret(read_json(req)), cred.id, cred.owner_type, cred.owner_id)
    cred = deps.store.rotate_credential(cred.id, sealed, kid, user.id)
    audit(deps, req, "credential.rotate", "credential", cred.id)
    return {**credential_json(cred), "rotated": True}


def _set_active(deps, req, user, cred, active: bool) -> dict:
    cred = deps.store.set_credential_active(cred.id, active, user.id)
    audit(deps, req, "credential.enable" if active else "credential.disable", "credential", cred.id)
    return {**credential_json(cred), "disabled": True} if not active else credential_json(cred)


def disable_credential(deps, req, credential_id):
    user, cred = _managed(deps, req, credential_id)
    return _set_active(deps, req, user, cred, False)


def patch_credential(deps, req, credential_id):
    user, cred = _managed(deps, req, credential_id)
    active = read_json(req).get("is_active")
    if not isinstance(active, bool):
        raise BadRequest("is_active must be true or false")
    if active and not user.is_admin:
        raise Forbidden("Admin required to enable a credential again")
    return _set_active(deps, req, user, cred, active)


def usable(cred, owner_id: str, now: datetime.datetime) -> bool:
    """Whether a job of `owner_id` may receive this credential now: the owner's own user credential, active and
    unexpired (group credentials have no members yet, so no job receives one)."""
    return (cred is not None and cred.owner_type == "user" and cred.owner_id == owner_id and cred.is_active
            and (cred.expires_at is None or cred.expires_at > now))


def task_credentials(deps, user, refs: list[str]) -> list[str]:
    """The ids of the credentials a new task names (each by name or id), all the caller's own and usable.

    Anything else is one and the same 400 per reference, so a task cannot learn whether another user's
    credential, or a disabled or expired one, exists."""
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    ids, variables = [], {}
    for ref_ in refs:
        if is_uuid(ref_):
            found = [deps.store.credential_by_id(ref_.lower())]
        else:
            found = deps.store.user_credentials_named(user.id, ref_)
        found = [c for c in found if usable(c, user.id, now)]
        if not found:
            raise BadRequest(f"credential {ref_!r}: you have no active credential with this name or id")
        if len(found) > 1:
            raise BadRequest(f"credential {ref_!r}: you have one for each of the providers "
                             f"{', '.join(c.provider for c in found)}; name the one you mean by its credential_id")
        variable = credential_env_name(found[0].credential_name)
        taken = variables.setdefault(variable, (found[0].id, ref_))
        if taken[0] != found[0].id:
            raise BadRequest(f"credentials {taken[1]!r} and {ref_!r} would both be {variable}")
        if found[0].id not in ids:
            ids.append(found[0].id)
    return ids


ROUTES = [
    route
    for base in ("/v1/credentials", "/v1/creds")
    for route in (
        ("POST", base, create_credential),
        ("GET", base, list_credentials),
        ("GET", f"{base}/<credential_id>", get_credential),
        ("PATCH", f"{base}/<credential_id>", patch_credential),
        ("POST", f"{base}/<credential_id>/rotate", rotate_credential),
        ("POST", f"{base}/<credential_id>/disable", disable_credential),
    )
]

_ID_PARAM = {"name": "credential_id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1},
             "description": "credential id (UUID); anything else is a 404"}
UUID_OR_EMPTY = "^([0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})?$"
_SECRET = {"type": "string", "minLength": 1, "pattern": r"^[^\x00]*$", "description": "write-only; at most 64 KiB"}
OPENAPI_SCHEMAS = {
    "Credential": obj(["id", "credential_id", "owner_type", "owner_id", "provider", "credential_name", "name",
                       "credential_type", "is_active", "active", "created_at", "updated_at"],
                      id=UUID, credential_id=UUID, owner_type={"enum": list(OWNER_TYPES)}, owner_id=UUID,
                      provider=STR, credential_name=STR, name=STR, credential_type=STR, is_active=BOOL,
                      active=BOOL, expires_at=TIME, created_at=TIME, updated_at=TIME, rotated=BOOL, disabled=BOOL),
}
_LIST = obj(["credentials"], credentials={"type": "array", "items": ref("Credential")}, next_cursor=STR)
_NAME = {"type": "string", "pattern": NAME_PATTERN.pattern}
_CREATE = json_body({
    **obj(["provider", "secret"],
          provider={"type": "string", "maxLength": MAX_PROVIDER_LENGTH, "pattern": ONE_LINE.pattern},
          credential_name=_NAME, name=_NAME, secret=_SECRET, owner_type={"enum": ["", *OWNER_TYPES]},
          owner_id={"type": "string", "pattern": UUID_OR_EMPTY},
          credential_type={"type": "string", "pattern": TYPE_PATTERN.pattern},
          expires_at={"anyOf": [{"const": ""}, {**TIME, "description": "in the future"}]}),
    "anyOf": [{"required": ["credential_name"]}, {"required": ["name"]}]})
_FILTERS = [{"name": name, "in": "query", "schema": schema} for name, schema in (
    ("provider", IN), ("owner_type", {"enum": list(OWNER_TYPES)}), ("owner_id", IN),
    ("active", {"enum": ["true", "false"]}))]


def _paths(base: str) -> dict:
    one = f"{base}/{{credential_id}}"
    return {
        base: {
            "get": op("list the credentials I manage (admins: all), oldest first; never a secret", {
                **ok(_LIST), **errors(400, 401)}, params=[*_FILTERS, *PAGING]),
            "post": op("create a credential; the secret is sealed at once and never shown again (group: admin)", {
                **ok(ref("Credential"), "201"), **errors(400, 401, 403, 409, 413, 503)}, body=_CREATE),
        },
        one: {
            "get": op("a credential's metadata (404 when missing or not mine)", {
                **ok(ref("Credential")), **errors(401, 404)}, params=[_ID_PARAM]),
            "patch": op("disable (is_active false) or, admins only, enable again", {
                **ok(ref("Credential")), **errors(400, 401, 403, 404, 413)}, params=[_ID_PARAM],
                body=json_body(obj(["is_active"], is_active=BOOL))),
        },
        f"{one}/rotate": {"post": op("replace the secret", {
            **ok(ref("Credential")), **errors(400, 401, 404, 413, 503)}, params=[_ID_PARAM],
            body=json_body(obj(["secret"], secret=_SECRET)))},
        f"{one}/disable": {"post": op("disable: jobs no longer receive it", {
            **ok(ref("Credential")), **errors(401, 404)}, params=[_ID_PARAM])},
    }


OPENAPI_PATHS = {**_paths("/v1/credentials"), **_paths("/v1/creds")}
