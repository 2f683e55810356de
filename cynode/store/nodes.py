"""Node queries: a dispatcher registers its node and heartbeats it; admins change its status, ask it to reload its
configuration (a new config_version it acknowledges) or to prefetch an image (recorded in its metadata).

The row is the contract between an admin and a node in any process: a node claims jobs only while its status is
`active`, and reads the row at every heartbeat; the in-process dispatcher is also told at once (dispatch/node.py).
"""

import json
import os
import time
import uuid

import peewee

from cynode.store.database import first_locked
from cynode.store.models import Node
from cynode.store.records import NodeRecord, from_model, utcnow

STATUSES = ("registered", "active", "inactive", "drained")
KEPT_ACROSS_RESTARTS = ("inactive", "drained")  # an admin's decision outlives the process it was made for
MAX_PREFETCH_REQUESTS = 20  # the newest requests kept in a node's metadata
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid() -> str:
    """A ULID: 48 bits of milliseconds then 80 random bits, 26 Crockford base-32 characters; sorts by time."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def _record(row: Node) -> NodeRecord:
    return from_model(NodeRecord, row, capabilities=json.loads(row.capabilities or "{}"),
                      metadata=json.loads(row.metadata or "{}"))


class NodeQueries:
    """Mixed into Store; `self.db` is the open database."""

    db: peewee.Database
    backend: str

    def register_node(self, slug: str, capabilities: dict, summary: str, worker_url: str | None = None) -> NodeRecord:
        """Create or update the node `slug` as its dispatcher starts: capabilities as detected now, seen now, its
        configuration applied (it was just read). A new node is `active`; a known one keeps `inactive` or `drained`
        (an admin disabled or drained it, and a restart is no reason to undo that) and becomes `active` otherwise."""
        now = utcnow()
        fields = {"capabilities": json.dumps(capabilities), "capability_summary": summary[:256],
                  "worker_api_target_url": worker_url, "config_ack_status": "applied", "config_ack_at": now,
                  "last_seen_at": now, "updated_at": now}
        for _ in range(2):  # a concurrent first registration of the same slug wins once; then this one updates
            with self.db.atomic():
                row = first_locked(Node.select().where(Node.slug == slug), self.backend)
                if row is not None:
                    status = row.status if row.status in KEPT_ACROSS_RESTARTS else "active"
                    Node.update(status=status, config_version=row.config_version or new_ulid(), **fields).where(
                        Node.id == row.id).execute()
                    return self.node(row.id)
            try:
                with self.db.atomic():
                    node_id = str(uuid.uuid4())
                    Node.create(id=node_id, slug=slug, status="active", config_version=new_ulid(), created_at=now,
                                **fields)
                    return self.node(node_id)
            except peewee.IntegrityError:
                continue
        raise RuntimeError(f"could not register node {slug!r}")

    def heartbeat_node(self, node_id: str) -> NodeRecord | None:
        """Stamp `last_seen_at`; the row as it is now (its status and any configuration request), None if gone."""
        Node.update(last_seen_at=utcnow()).where(Node.id == node_id).execute()
        return self.node(node_id)

    def node(self, node_id: str) -> NodeRecord | None:
        row = Node.get_or_none(Node.id == node_id)
        return _record(row) if row else None

    def node_by_slug(self, slug: str) -> NodeRecord | None:
        row = Node.get_or_none(Node.slug == slug)
        return _record(row) if row else None

    def nodes(self, limit: int, offset: int) -> list[NodeRecord]:
        """A page of nodes ordered by slug."""
        return [_record(row) for row in Node.select().order_by(Node.slug).limit(limit).offset(offset)]

    def set_node_status(self, node_id: str, status: str) -> NodeRecord | None:
        if status not in STATUSES:
            raise ValueError(f"unknown node status {status!r}")
        Node.update(status=status, updated_at=utcnow()).where(Node.id == node_id).execute()
        return self.node(node_id)

    def request_node_config(self, node_id: str) -> NodeRecord | None:
        """Ask the node to reload its configuration: a new config_version, acknowledgement pending."""
        Node.update(config_version=new_ulid(), config_ack_status="pending", config_ack_at=None,
                    updated_at=utcnow()).where(Node.id == node_id).execute()
        return self.node(node_id)

    def ack_node_config(self, node_id: str, version: str, capabilities: dict, summary: str) -> bool:
        """The node reloaded configuration `version`: store what it found and mark it applied. False when a newer
        request came meanwhile (that one stays pending, so the node reloads again)."""
        now = utcnow()
        return bool(Node.update(config_ack_status="applied", config_ack_at=now, capabilities=json.dumps(capabilities),
                                capability_summary=summary[:256], last_seen_at=now, updated_at=now)
                    .where((Node.id == node_id) & (Node.config_version == version)).execute())

    def request_node_prefetch(self, node_id: str, image_ref: str) -> NodeRecord | None:
        """Record a request to pull `image_ref` in the node's metadata (the newest MAX_PREFETCH_REQUESTS kept)."""
        with self.db.atomic():
            row = first_locked(Node.select().where(Node.id == node_id), self.backend)
            if row is None:
                return None
            metadata = json.loads(row.metadata or "{}")
            requests = metadata.get("prefetch_requests", [])
            requests.append({"image_ref": image_ref, "requested_at": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")})
            metadata["prefetch_requests"] = requests[-MAX_PREFETCH_REQUESTS:]
            Node.update(metadata=json.dumps(metadata, ensure_ascii=False), updated_at=utcnow()).where(
                Node.id == node_id).execute()
        return self.node(node_id)
