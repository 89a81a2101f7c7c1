"""Pydantic output models: the tools' structured output schemas.

Headline fields are typed; the library's full ``to_dict()`` rides along as extra
fields (``extra="allow"``), so the schema documents what is guaranteed without
hiding detail.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class QuorumOut(BaseModel):
    num_nodes: int
    tolerated_faults: int
    quorum_size: int
    decision_threshold: int
    byzantine_safe: bool


class ComplianceOut(_Open):
    compliant: bool
    score: float
    blocking_failures: list[str]
    failed: list[str]
    passed: list[str]


class CardVerdictOut(_Open):
    compliant: bool
    score: float
    experts_covered: list[int]
    experts_missing: list[int]
    advisory: list[str]


class RedTeamOut(_Open):
    target_id: str
    risk_score: float
    total: int
    succeeded: int


class SettlementOut(_Open):
    round_id: str
    agreed: bool
    value: Any = None
    value_hash: str | None = None
    votes_for: int
    threshold: int
    n: int
    f: int
    equivocators: list[str]


class RouteOut(BaseModel):
    winner: int | list[int] | list[list[int]]
    method: str
    f: int
    replicas: int
    k: int | None = None


class VerifyOut(_Open):
    ok: bool
    broken_at: int | None = None
    reason: str
    checked: int


class AppendOut(BaseModel):
    receipt: dict[str, Any]
    seq: int
    key_id: str


class KeyOut(BaseModel):
    algorithm: str
    key_id: str
    public_key_pem: str
    public_key_hex: str


class AttestationOut(BaseModel):
    tools: list[dict[str, Any]]
    digest: str
    attestedBy: str
    attestedOn: str
