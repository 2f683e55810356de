"""The dispatcher as a node: registration, heartbeat, and admin control over what it claims. A real SQLite store,
workspace and process runner; the admin's side is what the routes do (change the row, tell the dispatcher)."""

import time

import pytest

from cynode.dispatch.dispatcher import Dispatcher
from cynode.dispatch.node import LOCAL_SLUG, detect_capabilities, summarize
from cynode.dispatch.sandbox import ProcessRunner
from cynode.dispatch.workspace import Workspace
from cynode.store.models import Node
from cynode.store.store import Store
from tests.support.server import make_settings

IDLE = 3600.0  # a heartbeat interval no test waits for: beats happen when a test causes them


def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class World:
    """A store, a dispatcher over it (started by the test) and a user with tasks."""

    def __init__(self, tmp_path):
        self.settings = make_settings(tmp_path, workers=2, job_kill_grace_seconds=1)
        self.store = Store(self.settings.database)
        self.store.migrate()
        self.workspace = Workspace(self.settings.data_dir)
        self.workspace.prepare()
        self.owner = self.store.create_user("owner", None)
        self.dispatchers = []

    def dispatcher(self, heartbeat_seconds=IDLE) -> Dispatcher:
        dispatcher = Dispatcher(self.store, ProcessRunner(), self.settings, self.workspace,
                                heartbeat_seconds=heartbeat_seconds)
        self.dispatchers.append(dispatcher)
        return dispatcher

    def task(self, command: str):
        task = self.store.create_task(self.owner.id, None, "commands", command, [("command", {"command": command})])
        for dispatcher in self.dispatchers:
            dispatcher.wake()
        return task

    def blocked_task(self):
        """A task whose job runs until the test releases it: the only host dir it sees is its work dir."""
        return self.task("echo started; while [ ! -e go ]; do sleep 0.02; done")

    def release(self, task) -> None:
        (self.workspace.work_dir(task.id) / "go").touch()

    def status(self, task) -> str:
        return self.store.task_by_id(task.id).status

    def admin_sets(self, dispatcher, status: str):
        """What POST /v1/nodes/local/<action> does: change the row, hand it to this process's dispatcher."""
        dispatcher.node_changed(self.store.set_node_status(dispatcher.node.id, status))

    def close(self):
        for dispatcher in self.dispatchers:
            dispatcher.stop(grace=0)
        self.store.close()


@pytest.fixture(name="world")
def fixture_world(tmp_path):
    world = World(tmp_path)
    yield world
    world.close()


def test_start_registers_the_node_local_with_its_capabilities_before_any_claim(world):
    dispatcher = world.dispatcher()
    dispatcher.start()
    node = world.store.node_by_slug(LOCAL_SLUG)
    assert node.id == dispatcher.node.id and node.status == "active" and node.config_ack_status == "applied"
    caps = node.capabilities
    assert (caps["workers"], caps["sandbox"], caps["inference"]) == (2, "process", {
        "configured": False, "api": None, "model": None})
    assert caps["cpu"] >= 1 and caps["memory_bytes"] > 0
    assert node.capability_summary.startswith(f"cpu={caps['cpu']} mem=")
    assert node.capability_summary.endswith(" runner=process workers=2 inference=none")


@pytest.mark.parametrize("status", ["drained", "inactive"])
def test_a_drained_or_disabled_node_lets_its_running_job_finish_starts_nothing_and_resumes_at_once(world, status):
    dispatcher = world.dispatcher()
    dispatcher.start()
    running = world.blocked_task()
    _wait(lambda: world.status(running) == "running")
    world.admin_sets(dispatcher, status)
    queued = world.task("echo later")
    assert dispatcher.run_once() is False  # the gate is closed: no claim, whatever is queued
    world.release(running)
    _wait(lambda: world.status(running) == "completed")  # the running job was not touched
    assert world.status(queued) == "queued" and dispatcher.run_once() is False
    assert world.store.jobs_for_task(queued.id)[0].status == "queued"  # waiting, neither failed nor canceled
    enabled_at = time.monotonic()
    world.admin_sets(dispatcher, "active")
    _wait(lambda: world.status(queued) == "completed")
    assert time.monotonic() - enabled_at < 0.9  # woken by the enable, not found by the 1 s poll


def test_a_change_made_by_another_process_is_obeyed_at_the_next_heartbeat(world):
    dispatcher = world.dispatcher(heartbeat_seconds=0.05)
    dispatcher.start()
    world.store.set_node_status(dispatcher.node.id, "inactive")  # the row only: as another server would
    _wait(lambda: not dispatcher.node.gate.is_open)
    queued = world.task("true")
    assert dispatcher.run_once() is False and world.status(queued) == "queued"
    world.store.set_node_status(dispatcher.node.id, "active")
    _wait(lambda: world.status(queued) == "completed")


def test_the_heartbeat_stamps_last_seen(world):
    dispatcher = world.dispatcher(heartbeat_seconds=0.05)
    dispatcher.start()
    first = world.store.node(dispatcher.node.id).last_seen_at
    _wait(lambda: world.store.node(dispatcher.node.id).last_seen_at > first)


def test_a_drained_node_stays_drained_across_a_restart(world):
    dispatcher = world.dispatcher()
    dispatcher.start()
    world.admin_sets(dispatcher, "drained")
    dispatcher.stop(grace=0)
    queued = world.task("true")
    again = world.dispatcher()
    again.start()
    assert again.node.id == dispatcher.node.id and again.node.record.status == "drained"
    assert again.run_once() is False and world.status(queued) == "queued"
    assert again.node.notes() == ("node local drained: no new jobs start",)
    world.admin_sets(again, "active")
    _wait(lambda: world.status(queued) == "completed")
    assert again.node.notes() == ()


def test_a_heartbeat_read_older_than_the_admins_change_does_not_reopen_the_node(world):
    dispatcher = world.dispatcher()
    dispatcher.start()
    before = world.store.node(dispatcher.node.id)  # what a heartbeat read just before the change
    time.sleep(0.002)  # updated_at must move on; the stamps have microseconds
    world.admin_sets(dispatcher, "inactive")
    assert dispatcher.node.apply(before) is False and not dispatcher.node.gate.is_open


def test_refresh_config_is_applied_at_once_detecting_capabilities_again(world):
    dispatcher = world.dispatcher()
    dispatcher.start()
    node_id = dispatcher.node.id
    Node.update(capability_summary="stale", capabilities="{}").where(Node.id == node_id).execute()
    asked = world.store.request_node_config(node_id)
    assert asked.config_ack_status == "pending"
    dispatcher.node_changed(asked)  # what POST /v1/nodes/local/refresh-config does
    _wait(lambda: world.store.node(node_id).config_ack_status == "applied")
    acked = world.store.node(node_id)
    assert acked.config_version == asked.config_version and acked.config_ack_at is not None
    assert acked.capabilities["workers"] == 2 and acked.capability_summary.endswith("workers=2 inference=none")


def test_stop_ends_the_heartbeat_thread_at_once(world):
    dispatcher = world.dispatcher()
    dispatcher.start()
    started = time.monotonic()
    dispatcher.stop(grace=5)
    assert time.monotonic() - started < 2
    assert not any(thread.is_alive() for thread in dispatcher._threads)  # pylint: disable=protected-access


class _Inference:  # pylint: disable=too-few-public-methods
    """Stands in for the inference client only as far as capability detection reads it (its backend settings and
    whether it answers); the client's own tests cover the real thing."""

    class backend:  # pylint: disable=invalid-name,too-few-public-methods
        """Its Backend's fields that capabilities name."""

        api, model = "ollama", "tiny"

    @staticmethod
    def probe() -> bool:
        return False


def test_capabilities_name_the_inference_api_and_a_refresh_says_whether_it_answers(world):
    plain = detect_capabilities(world.settings, ProcessRunner(), _Inference())
    assert plain["inference"] == {"configured": True, "api": "ollama", "model": "tiny"}
    assert summarize(plain).endswith("inference=ollama")
    probed = detect_capabilities(world.settings, ProcessRunner(), _Inference(), probe=True)
    assert probed["inference"]["reachable"] is False and summarize(probed).endswith("inference=ollama(unreachable)")
