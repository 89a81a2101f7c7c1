"""``ServerState``: what the server holds between calls, created on first use.

Building a state does no I/O: the store, the receipt chain and the vote ledger are
opened the first time a tool (or the paywall) needs them. One lock guards creation;
the objects themselves are thread-safe (:class:`~openmoe_bft.store.Store`).
"""

from __future__ import annotations

import threading
from typing import Any

from .config import ServerConfig

__all__ = ["ServerState"]


class ServerState:
    """Lazily opened store, receipt chain (signed with the server's Ed25519 key) and
    vote ledger for one server process."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._key: Any = None
        self._store: Any = None
        self._chain: Any = None
        self._ledger: Any = None
        self._append_lock = threading.Lock()

    @property
    def receipt_key(self) -> Any:
        """The Ed25519 key that signs this server's receipts."""
        with self._lock:
            if self._key is None:
                from ..receipts import Ed25519Key

                key = self.config.receipt_key
                if key is None:
                    key = Ed25519Key.generate()
                elif isinstance(key, (bytes, str)):
                    key = Ed25519Key.from_pem(key.encode() if isinstance(key, str) else key)
                self._key = key
            return self._key

    def _open_store(self) -> Any:
        if self._store is None and self.config.store is not None:
            from ..store import Store

            self._store = Store(self.config.store)
        return self._store

    @property
    def store(self) -> Any:
        with self._lock:
            return self._open_store()

    @property
    def chain(self) -> Any:
        """The server-held :class:`~openmoe_bft.receipts.AuditChain`."""
        key = self.receipt_key
        with self._lock:
            if self._chain is None:
                from ..receipts import AuditChain

                self._chain = AuditChain(self._open_store(), signer=key)
            return self._chain

    @property
    def ledger(self) -> Any:
        """The server-held :class:`~openmoe_bft.bft.BFTLedger`."""
        with self._lock:
            if self._ledger is None:
                from ..bft import BFTLedger

                self._ledger = BFTLedger(self._open_store())
            return self._ledger

    def append(self, payload: Any, *, trace_id: str = "", timestamp: Any = None) -> Any:
        """Append to the chain (serialised: an in-memory chain is not thread-safe)."""
        chain = self.chain
        with self._append_lock:
            return chain.append(payload, trace_id=trace_id, timestamp=timestamp)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
            self._chain = self._ledger = None

    def store_lazy(self) -> Any:
        """The store (or None), opened now: for components that must not open it
        before their first use."""
        return self.store
