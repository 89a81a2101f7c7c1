"""The one exception hierarchy of openmoe-bft.

Every error the library raises on purpose derives from :class:`OpenMoEBFTError`.
Errors caused by the caller's input also derive from :class:`ValueError` or
:class:`TypeError`, so code written against the seed package (which raised bare
``ValueError``) keeps working.

Each error carries a message that says what was wrong and what to do, and
:meth:`OpenMoEBFTError.diagnostics` gives the human text the CLI prints.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "OpenMoEBFTError",
    "InvalidInput",
    "InvalidType",
    "NoConsensusError",
    "ExpertError",
    "StoreError",
    "SchemaVersionError",
    "MissingDependency",
]


class OpenMoEBFTError(Exception):
    """Base class of every error raised by openmoe-bft."""

    def diagnostics(self) -> str:
        """A human-readable explanation, suitable for printing in a terminal."""
        return str(self)


class InvalidInput(OpenMoEBFTError, ValueError):
    """An argument had the wrong value, shape or range.

    ``argument`` names the offending argument when known.
    """

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        self.argument = argument
        super().__init__(f"{argument}: {message}" if argument else message)


class InvalidType(InvalidInput, TypeError):
    """An argument had the wrong type (also a :class:`TypeError`)."""


class NoConsensusError(OpenMoEBFTError, RuntimeError):
    """No value reached the Byzantine quorum and the caller asked for strictness.

    ``decision`` is the :class:`~openmoe_bft.bft.RoutingDecision` (when raised by a
    router) and ``settlement`` the :class:`~openmoe_bft.bft.Settlement` of the round.
    """

    def __init__(self, message: str, *, settlement: Any = None, decision: Any = None) -> None:
        self.settlement = settlement
        self.decision = decision
        super().__init__(message)

    def diagnostics(self) -> str:
        return (
            f"{self}\nNothing was dispatched. Inspect the settlement's votes and abstentions "
            "to see which replicas disagree or failed."
        )


class ExpertError(OpenMoEBFTError, RuntimeError):
    """The expert chosen by consensus raised while handling the token.

    The votes of the round are already recorded; ``decision`` holds them and
    ``__cause__`` is the expert's exception.
    """

    def __init__(self, message: str, *, decision: Any = None) -> None:
        self.decision = decision
        super().__init__(message)


class StoreError(OpenMoEBFTError):
    """The embedded SQLite store could not be opened, read or written."""


class SchemaVersionError(StoreError):
    """A store was written by a newer version of openmoe-bft than this one."""


class MissingDependency(OpenMoEBFTError, ImportError):
    """An optional extra is not installed; the message says what to ``pip install``."""

    @classmethod
    def require(cls, module: str, *, purpose: str, extra: str) -> Any:
        """Import ``module``, or raise this error: "<purpose> need(s) <module>: pip
        install 'openmoe-bft[<extra>]'"."""
        import importlib

        try:
            return importlib.import_module(module)
        except ImportError as exc:
            raise cls(f"{purpose} needs {module.split('.')[0]}: pip install "
                      f"'openmoe-bft[{extra}]'") from exc
