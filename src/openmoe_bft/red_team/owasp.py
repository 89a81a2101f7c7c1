"""The OWASP Top 10 for LLM Applications, 2025 edition (genai.owasp.org).

Every strategy names the entries it tests; reports group findings by them.
"""

from __future__ import annotations

from ..errors import InvalidInput

__all__ = ["OWASP_LLM_2025", "owasp_title", "check_owasp_ids"]

OWASP_LLM_2025: dict[str, str] = {
    "LLM01:2025": "Prompt Injection",
    "LLM02:2025": "Sensitive Information Disclosure",
    "LLM03:2025": "Supply Chain",
    "LLM04:2025": "Data and Model Poisoning",
    "LLM05:2025": "Improper Output Handling",
    "LLM06:2025": "Excessive Agency",
    "LLM07:2025": "System Prompt Leakage",
    "LLM08:2025": "Vector and Embedding Weaknesses",
    "LLM09:2025": "Misinformation",
    "LLM10:2025": "Unbounded Consumption",
}


def owasp_title(entry: str) -> str:
    """``"LLM01:2025 Prompt Injection"`` for ``"LLM01:2025"``."""
    return f"{entry} {OWASP_LLM_2025.get(entry, '(unknown entry)')}"


def check_owasp_ids(ids: tuple[str, ...], *, argument: str = "owasp") -> tuple[str, ...]:
    for entry in ids:
        if entry not in OWASP_LLM_2025:
            raise InvalidInput(f"{entry!r} is not an OWASP Top 10 for LLM Applications 2025 "
                               f"id; use one of {', '.join(OWASP_LLM_2025)}", argument=argument)
    return tuple(ids)
