"""`users create | list | disable | enable` against the real gateway (admins only)."""

import pytest

from tests.support.server import PASSWORD


@pytest.fixture(name="as_admin")
def fixture_as_admin(cli, server):
    token = server.session().access

    def run(*argv, **kwargs):
        return cli(*argv, env={"CYNORK_TOKEN": token}, **kwargs)

    return run


def test_create_with_password_stdin_and_the_new_user_can_log_in(as_admin, cli):
    result = as_admin("users", "create", "carol", "--password-stdin", stdin="carol-password-1\n")
    assert result.code == 0, result
    assert result.stdout.startswith("id=") and result.stdout.endswith(" handle=carol is_admin=false is_active=true\n")
    login = cli("auth", "login", "--handle", "carol", "--password-stdin", stdin="carol-password-1")
    assert (login.code, login.stdout) == (0, "logged_in=true handle=carol\n")


def test_create_reads_the_password_from_stdin_when_it_is_not_a_terminal(as_admin):
    result = as_admin("-o", "json", "users", "create", "dave", "--admin", stdin="dave-password-1")
    assert result.code == 0, result
    user = result.json
    assert (user["handle"], user["is_admin"], user["is_active"]) == ("dave", True, True)
    assert set(user) >= {"id", "created_at"}


@pytest.mark.parametrize("handle, stdin, code, message", [
    ("erin", "", 2, "password is required"),
    ("erin", "short", 6, "400 Bad Request: password must be at least 8 characters"),
    ("system", PASSWORD, 6, "400 Bad Request: handle must be 1-64 letters, digits, '.', '_' or '-', start with a "
                            "letter or digit, and not be reserved"),
    ("admin", PASSWORD, 5, "409 Conflict: handle 'admin' is taken"),
])
def test_create_errors(as_admin, handle, stdin, code, message):
    result = as_admin("users", "create", handle, "--password-stdin", stdin=stdin)
    assert (result.code, result.stderr, result.stdout) == (code, f"Error: {message}\n", "")


def test_a_non_admin_is_refused(cli, server):
    token = server.session(server.add_user("frank")).access
    for argv in (["users", "list"], ["users", "create", "x", "--password-stdin"], ["users", "disable", "admin"]):
        result = cli(*argv, stdin=PASSWORD, env={"CYNORK_TOKEN": token})
        assert (result.code, result.stderr) == (3, "Error: 403 Forbidden: Admin required\n"), result


def test_list_as_tsv_and_json_with_paging(as_admin, server):
    server.add_user("gina")
    table = as_admin("users", "list").stdout.splitlines()
    assert table[0] == "id\thandle\tis_admin\tis_active\tcreated_at"
    assert table[1].split("\t")[:4] == [server.admin.id, "admin", "true", "true"]
    assert len(table) == 1 + len(server.store.list_users(1000, 0))
    first = as_admin("-o", "json", "users", "list", "--limit", "1").json
    assert [u["handle"] for u in first["users"]] == ["admin"] and first["next_cursor"] == "1"
    second = as_admin("-o", "json", "users", "list", "-l", "1", "--cursor", first["next_cursor"]).json
    assert len(second["users"]) == 1 and second["users"][0]["handle"] != "admin"
    everything = as_admin("-o", "json", "users", "list", "--limit", "200").json
    assert everything["next_cursor"] == ""


def test_disable_and_enable_by_handle_or_id(as_admin, cli, server):
    henry = server.add_user("henry")
    token = server.session(henry).access
    result = as_admin("users", "disable", "henry")
    assert result.stdout == f"id={henry.id} handle=henry is_admin=false is_active=false\n"
    assert cli("auth", "whoami", env={"CYNORK_TOKEN": token}).code == 3  # disabling revoked the session
    enabled = as_admin("-o", "json", "users", "enable", henry.id)
    assert enabled.json["is_active"] is True


def test_disable_unknown_user_and_last_admin(as_admin, server):
    missing = as_admin("users", "disable", "nobody-here")
    assert (missing.code, missing.stderr) == (4, "Error: 404 Not Found: User not found\n")
    for user in server.store.list_users(1000, 0):
        if user.is_admin and user.id != server.admin.id:
            server.store.set_user_active(user.id, False)
    last = as_admin("users", "disable", server.admin.id)
    assert (last.code, last.stderr) == (5, "Error: 409 Conflict: cannot disable the last active admin\n")
    assert as_admin("auth", "whoami").code == 0
