"""Chat exchange queries: record one per chat request, list a user's."""

import dataclasses
import uuid

import peewee

from cynode.store.models import ChatExchange
from cynode.store.records import ChatExchangeRecord, from_model, utcnow

CHAT_OUTCOMES = ("success", "error", "timeout", "canceled")


class ChatQueries:
    """Mixed into Store; `self.db` is the open database."""

    db: peewee.Database

    def record_chat_exchange(self, exchange: ChatExchangeRecord) -> ChatExchangeRecord:
        """Store one exchange (its id and time are given here) and return it as stored."""
        if exchange.outcome not in CHAT_OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(CHAT_OUTCOMES)}, got {exchange.outcome!r}")
        stored = dataclasses.replace(exchange, id=str(uuid.uuid4()), created_at=utcnow())
        values = dataclasses.asdict(stored)
        values["user"] = values.pop("user_id")
        ChatExchange.insert(values).execute()
        return stored

    def chat_exchanges(self, user_id: str, limit: int = 50, offset: int = 0) -> list[ChatExchangeRecord]:
        """A user's exchanges, newest first."""
        query = (ChatExchange.select().where(ChatExchange.user == user_id)
                 .order_by(ChatExchange.created_at.desc(), ChatExchange.id.desc()).limit(limit).offset(offset))
        return [from_model(ChatExchangeRecord, row) for row in query]
