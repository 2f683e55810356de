"""The storage contract for nodes, on SQLite and PostgreSQL (fixtures in conftest.py)."""

import re
from datetime import timedelta

import pytest

from cynode.store.models import Node
from cynode.store.nodes import MAX_PREFETCH_REQUESTS, new_ulid
from cynode.store.records import utcnow

CAPS = {"workers": 2, "sandbox": "bwrap", "cpu": 2}


def test_a_first_registration_creates_an_active_node_with_its_configuration_applied(store):
    node = store.register_node("local", CAPS, "cpu=2 runner=bwrap")
    assert (node.slug, node.status, node.claims, node.capabilities) == ("local", "active", True, CAPS)
    assert node.capability_summary == "cpu=2 runner=bwrap" and node.metadata == {}
    assert node.config_ack_status == "applied" and node.config_ack_at is not None
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", node.config_version)
    assert store.node(node.id) == node and store.node_by_slug("local") == node
    assert store.node_by_slug("other") is None and store.node("0" * 36) is None


def test_registering_again_updates_the_row_and_keeps_an_admins_disable_or_drain(store):
    first = store.register_node("local", CAPS, "old")
    for status in ("inactive", "drained"):
        store.set_node_status(first.id, status)
        again = store.register_node("local", {**CAPS, "workers": 4}, "new")
        assert (again.id, again.status, again.claims) == (first.id, status, False)
        assert again.capabilities["workers"] == 4 and again.capability_summary == "new"
    store.set_node_status(first.id, "registered")
    assert store.register_node("local", CAPS, "s").status == "active"
    assert Node.select().count() == 1


def test_heartbeat_stamps_last_seen_and_returns_the_row_as_it_is(store):
    node = store.register_node("local", CAPS, "s")
    Node.update(last_seen_at=utcnow() - timedelta(minutes=5)).where(Node.id == node.id).execute()
    store.set_node_status(node.id, "drained")
    beat = store.heartbeat_node(node.id)
    assert beat.status == "drained" and utcnow() - beat.last_seen_at < timedelta(seconds=5)
    assert store.heartbeat_node("0" * 36) is None


def test_status_changes_move_updated_at_and_are_validated(store):
    node = store.register_node("local", CAPS, "s")
    Node.update(updated_at=utcnow() - timedelta(minutes=5)).where(Node.id == node.id).execute()
    disabled = store.set_node_status(node.id, "inactive")
    assert disabled.status == "inactive" and disabled.updated_at > node.updated_at - timedelta(minutes=1)
    assert store.set_node_status(node.id, "active").claims
    with pytest.raises(ValueError):
        store.set_node_status(node.id, "sleeping")
    assert store.set_node_status("0" * 36, "active") is None


def test_nodes_are_listed_by_slug_in_pages(store):
    for slug in ("worker-b", "local", "worker-a"):
        store.register_node(slug, CAPS, "s")
    assert [n.slug for n in store.nodes(10, 0)] == ["local", "worker-a", "worker-b"]
    assert [n.slug for n in store.nodes(1, 1)] == ["worker-a"]


def test_a_config_request_is_pending_until_the_node_acks_that_very_version(store):
    node = store.register_node("local", CAPS, "s")
    asked = store.request_node_config(node.id)
    assert asked.config_ack_status == "pending" and asked.config_ack_at is None
    assert asked.config_version != node.config_version and asked.config_version[:10] >= node.config_version[:10]
    newer = store.request_node_config(node.id)
    assert not store.ack_node_config(node.id, asked.config_version, {"cpu": 8}, "stale")  # a newer one came
    assert store.node(node.id).config_ack_status == "pending"
    assert store.ack_node_config(node.id, newer.config_version, {"cpu": 8}, "cpu=8")
    acked = store.node(node.id)
    assert (acked.config_ack_status, acked.capabilities, acked.capability_summary) == ("applied", {"cpu": 8}, "cpu=8")
    assert acked.config_ack_at is not None and acked.config_version == newer.config_version


def test_prefetch_requests_are_kept_in_the_metadata_newest_last_and_bounded(store):
    node = store.register_node("local", CAPS, "s")
    for number in range(MAX_PREFETCH_REQUESTS + 2):
        record = store.request_node_prefetch(node.id, f"alpine:{number}")
    requests = record.metadata["prefetch_requests"]
    assert len(requests) == MAX_PREFETCH_REQUESTS and requests[-1]["image_ref"] == f"alpine:{MAX_PREFETCH_REQUESTS + 1}"
    assert requests[0]["image_ref"] == "alpine:2" and "requested_at" in requests[0]
    assert store.request_node_prefetch("0" * 36, "alpine") is None


def test_ulids_sort_by_their_time_part():
    first = new_ulid()
    assert len(first) == 26 and new_ulid()[:10] >= first[:10] and new_ulid() != first
