"""Skills (spec/gateway.md §9): Markdown documents a user loads for the models that work for them.

Who sees what: a user sees their own skills, system skills and global skills; an admin sees every skill. What a
user may not see does not exist for them (404 `skill not found`, never 403). Who changes what: the owner, or an
admin; system skills are read-only for everyone. `global` is for admins only. `group` and `project` skills name
their group or project in `scope_id`; there are no group or project memberships yet, so such a skill is visible
to its owner (and admins) like a `user` skill.

Content is scanned (skillpolicy.py) on load and whenever it changes; a refusal is the one non-problem error body
of these routes (spec/gateway.md §1.1): 400 `{"error": "policy violation", "category", "triggering_text"}`.
"""


from cynode.contract import MAX_SKILL_CHARS, NOT_BLANK, SKILL_SCOPES, rfc3339
from cynode.server.apidoc import (BOOL, JSON, PAGING, PROBLEM, STR, TIME, UUID, errors, json_body, obj, ok, op,
                                  ref)
from cynode.server.audit import audit
from cynode.server.auth import authenticate
from cynode.server.deps import Reply
from cynode.server.errors import BadRequest, Forbidden, NotFound
from cynode.server.jsonio import ONE_LINE, is_uuid, page, page_params, read_json
from cynode.server.skillpolicy import HIDDEN_INSTRUCTIONS, Violation, scan

MAX_NAME_LENGTH = 128  # a title, not a document
MAX_SCOPE_ID_LENGTH = 36  # the column's size: a UUID
DEFAULT_NAME = "Untitled skill"
NEEDS_SCOPE_ID = ("group", "project")
POLICY_VIOLATION = "policy violation"
AUDIT_TEXT_LIMIT = 200  # how much of a triggering phrase an audit event keeps


# --- reading requests ----------------------------------------------------------------------------------------


def _string(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{key} must be a string")
    return value


def _content(body: dict) -> str | None:
    """`content`, else its synonym `content_md` (null counts as absent); each checked when given."""
    given = [_string(body, key) for key in ("content", "content_md")]
    for value in given:
        if value is not None and not value.strip():
            raise BadRequest("content required")
        if value is not None and len(value) > MAX_SKILL_CHARS:
            raise BadRequest(f"content exceeds {MAX_SKILL_CHARS} characters")
    return given[0] if given[0] is not None else given[1]


def _line(body: dict, key: str, limit: int) -> str | None:
    value = _string(body, key)
    if value is not None and (len(value) > limit or not ONE_LINE.fullmatch(value)):
        raise BadRequest(f"{key} must be 1-{limit} characters, not only spaces, no control characters")
    return value


def _fields(body: dict) -> dict:
    """The fields a request gives (null = not given), each valid on its own."""
    fields = {"content": _content(body), "name": _line(body, "name", MAX_NAME_LENGTH),
              "scope": _string(body, "scope"), "scope_id": _line(body, "scope_id", MAX_SCOPE_ID_LENGTH)}
    if fields["scope"] is not None and fields["scope"] not in SKILL_SCOPES:
        raise BadRequest(f"scope must be one of: {', '.join(SKILL_SCOPES)}")
    return {key: value for key, value in fields.items() if value is not None}


def _check_scope(user, scope: str, scope_id: str | None) -> None:
    if scope == "global" and not user.is_admin:
        raise Forbidden("only an admin may use scope global")
    if scope in NEEDS_SCOPE_ID and scope_id is None:
        raise BadRequest(f"scope {scope} needs scope_id")
    if scope == "global" and scope_id is not None:
        raise BadRequest("scope global takes no scope_id")


def _may_see(user, skill) -> bool:
    return user.is_admin or skill.is_system or skill.scope == "global" or skill.owner_id == user.id


def _visible(deps, user, skill_id: str):
    if not is_uuid(skill_id):
        raise BadRequest("invalid skill id")
    skill = deps.store.skill(skill_id.lower())
    if skill is None or not _may_see(user, skill):
        raise NotFound("skill not found")
    return skill


def _editable(deps, user, skill_id: str):
    skill = _visible(deps, user, skill_id)
    if skill.is_system:
        raise Forbidden("system skill is read-only")
    if not user.is_admin and skill.owner_id != user.id:
        raise Forbidden("not skill owner")
    return skill


def _refusal(deps, req, violation: Violation, skill_id: str | None) -> Reply:
    """The scanner's 400, recorded as a denied `skill.reject`. A hidden comment's text is not kept in the audit
    log (it is whatever the author hid, possibly a secret); a phrase is, cut short."""
    details = {"category": violation.category}
    if violation.category == HIDDEN_INSTRUCTIONS:
        details["length"] = len(violation.triggering_text)
    else:
        details["triggering_text"] = violation.triggering_text[:AUDIT_TEXT_LIMIT]
    audit(deps, req, "skill.reject", "skill", skill_id, decision="deny", success=False, details=details)
    return Reply(400, {"error": POLICY_VIOLATION, "category": violation.category,
                       "triggering_text": violation.triggering_text})


# --- responses -----------------------------------------------------------------------------------------------


def skill_json(skill, *, content: bool = False) -> dict:
    body = {"id": skill.id, "skill_id": skill.id, "name": skill.name, "scope": skill.scope}
    if skill.scope_id is not None:
        body["scope_id"] = skill.scope_id
    if skill.owner_id is not None:
        body["owner_id"] = skill.owner_id
    body.update(is_system=skill.is_system, created_at=rfc3339(skill.created_at),
                updated_at=rfc3339(skill.updated_at))
    if content:
        body["content"] = body["content_md"] = skill.content
    return body


# --- handlers ------------------------------------------------------------------------------------------------


def list_skills(deps, req):
    user = authenticate(deps, req).user
    limit, offset = page_params(req.query)
    scope, owner = req.query.get("scope"), req.query.get("owner")
    if scope is not None and scope not in SKILL_SCOPES:
        raise BadRequest(f"scope must be one of: {', '.join(SKILL_SCOPES)}")
    if owner is not None and not is_uuid(owner):
        raise BadRequest("owner must be a user id")
    skills = deps.store.skills(None if user.is_admin else user.id, limit + 1, offset, scope=scope,
                               owner_id=owner.lower() if owner else None)
    return page([skill_json(skill) for skill in skills], limit, offset, "skills")


def get_skill(deps, req, skill_id):
    user = authenticate(deps, req).user
    return skill_json(_visible(deps, user, skill_id), content=True)


def load_skill(deps, req):
    user = authenticate(deps, req).user
    fields = _fields(read_json(req))
    if "content" not in fields:
        raise BadRequest("content required")
    scope = fields.get("scope", "user")
    _check_scope(user, scope, fields.get("scope_id"))
    violation = scan(fields["content"])
    if violation:
        return _refusal(deps, req, violation, None)
    skill = deps.store.create_skill(name=fields.get("name", DEFAULT_NAME), content=fields["content"], scope=scope,
                                    scope_id=fields.get("scope_id"), owner_id=user.id)
    audit(deps, req, "skill.load", "skill", skill.id, details={"name": skill.name, "scope": skill.scope})
    return Reply(201, skill_json(skill))


def update_skill(deps, req, skill_id):
    user = authenticate(deps, req).user
    skill = _editable(deps, user, skill_id)
    changes = _fields(read_json(req))
    if "scope_id" in changes and "scope" not in changes:
        raise BadRequest("scope_id needs scope")
    if "scope" in changes:  # scope and scope_id travel together: a new scope takes the scope_id given with it
        changes["scope_id"] = changes.get("scope_id")
        _check_scope(user, changes["scope"], changes["scope_id"])
    if not changes:
        return skill_json(skill)
    violation = scan(changes["content"]) if "content" in changes else None
    if violation:
        return _refusal(deps, req, violation, skill.id)
    updated = deps.store.update_skill(skill.id, **changes)
    if updated is None:  # deleted meanwhile
        raise NotFound("skill not found")
    audit(deps, req, "skill.update", "skill", skill.id, details={"changed": sorted(changes)})
    return skill_json(updated)


def delete_skill(deps, req, skill_id):
    user = authenticate(deps, req).user
    skill = _editable(deps, user, skill_id)
    if not deps.store.delete_skill(skill.id):
        raise NotFound("skill not found")
    audit(deps, req, "skill.delete", "skill", skill.id, details={"name": skill.name})
    return Reply(204)


_ONE = "/v1/skills/<skill_id:re:(?!load$)[^/]+>"  # `load` is POST's own path: other methods there are 405
ROUTES = [
    ("GET", "/v1/skills", list_skills),
    ("POST", "/v1/skills/load", load_skill),
    ("GET", _ONE, get_skill),
    ("PUT", _ONE, update_skill),
    ("DELETE", _ONE, delete_skill),
]


# --- OpenAPI -------------------------------------------------------------------------------------------------

_NO_NUL = {"not": {"pattern": "\x00"}}
_CONTENT = {"type": "string", "maxLength": MAX_SKILL_CHARS, "pattern": NOT_BLANK, **_NO_NUL,
            "description": "Markdown; scanned by the content policy"}
_NAME = {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH, "pattern": ONE_LINE.pattern}
_SCOPE = {"enum": list(SKILL_SCOPES)}
_SCOPE_ID = {"type": "string", "minLength": 1, "maxLength": MAX_SCOPE_ID_LENGTH, "pattern": ONE_LINE.pattern,
             "description": "the group or project (required for those scopes, refused for global)"}


def _nullable(schema: dict) -> dict:
    return {"anyOf": [{"type": "null"}, schema]}


_PROPERTIES = {"content": _nullable(_CONTENT), "content_md": _nullable(_CONTENT), "name": _nullable(_NAME),
               "scope": _nullable(_SCOPE), "scope_id": _nullable(_SCOPE_ID)}
_SCOPE_RULES = [
    {"if": {"required": ["scope"], "properties": {"scope": {"enum": list(NEEDS_SCOPE_ID)}}},
     "then": {"required": ["scope_id"], "properties": {"scope_id": _SCOPE_ID}}},
    {"if": {"required": ["scope"], "properties": {"scope": {"const": "global"}}},
     "then": {"properties": {"scope_id": {"type": "null"}}}},
]
_LOAD = {"type": "object", "properties": _PROPERTIES, "allOf": [
    {"anyOf": [{"required": ["content"], "properties": {"content": _CONTENT}},
               {"required": ["content_md"], "properties": {"content_md": _CONTENT}}]},
    *_SCOPE_RULES]}
_UPDATE = {"type": "object", "properties": _PROPERTIES, "allOf": [
    *_SCOPE_RULES,
    {"anyOf": [{"required": ["scope"], "properties": {"scope": _SCOPE}}, {"not": {"required": ["scope_id"]}},
               {"properties": {"scope_id": {"type": "null"}}}], "description": "scope_id travels with scope"}]}
_SKILL_ID = [{"name": "skill_id", "in": "path", "required": True, "schema": UUID}]
_INVALID_OR_REFUSED = {"400": {
    "description": "invalid input (a problem), or content the policy refuses (SkillPolicyViolation, not a problem)",
    "content": {PROBLEM: {"schema": ref("Problem")}, JSON: {"schema": ref("SkillPolicyViolation")}}}}

OPENAPI_SCHEMAS = {
    "Skill": obj(["id", "skill_id", "name", "scope", "is_system", "created_at", "updated_at"], id=UUID,
                 skill_id=UUID, name=STR, scope=_SCOPE, scope_id=STR, owner_id=UUID, is_system=BOOL,
                 created_at=TIME, updated_at=TIME),
    "SkillWithContent": {"allOf": [ref("Skill"), obj(["content", "content_md"], content=STR, content_md=STR)]},
    "SkillPolicyViolation": obj(["error", "category", "triggering_text"], error={"const": POLICY_VIOLATION},
                                category=STR, triggering_text=STR),
}

OPENAPI_PATHS = {
    "/v1/skills": {"get": op("the skills I may see, newest updated first (without content)", {
        **ok(obj(["skills"], skills={"type": "array", "items": ref("Skill")}, next_cursor=STR)),
        **errors(400, 401)}, params=[
            {"name": "scope", "in": "query", "schema": _SCOPE}, {"name": "owner", "in": "query", "schema": UUID},
            *PAGING])},
    "/v1/skills/load": {"post": op("load a skill (scope global: admins only); its content is scanned first", {
        **ok(ref("Skill"), "201"), **_INVALID_OR_REFUSED, **errors(401, 403, 413)}, body=json_body(_LOAD))},
    "/v1/skills/{skill_id}": {
        "get": op("one skill with its content", {**ok(ref("SkillWithContent")), **errors(400, 401, 404)},
                  params=_SKILL_ID),
        "put": op("change a skill's content, name or scope (absent fields stay); new content is scanned", {
            **ok(ref("Skill")), **_INVALID_OR_REFUSED, **errors(401, 403, 404, 413)}, params=_SKILL_ID,
            body=json_body(_UPDATE)),
        "delete": op("delete a skill (owner or admin; system skills are read-only)", {
            **ok(None, "204"), **errors(400, 401, 403, 404)}, params=_SKILL_ID),
    },
}
