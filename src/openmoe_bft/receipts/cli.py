"""``openmoe-bft receipts ...``: keys, append, export, offline verify, proofs.

Exit codes: 0 ok, 1 tampered / does not verify, 2 bad input.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from .. import _json as safe_json
from ..errors import InvalidInput, OpenMoEBFTError
from .chain import AuditChain
from .export import export_chain, tree_of, verify_export
from .proofs import InclusionProof
from .signing import Ed25519Key, load_verifier

app = typer.Typer(help="Tamper-evident receipts: keys, export, offline verify, proofs.",
                  no_args_is_help=True)
_err = Console(stderr=True)


def _bad(message: str) -> typer.Exit:
    _err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(2)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _bad(f"cannot read {what} {str(path)!r}: {exc.strerror}") from None


def _pubkeys(paths: list[Path]) -> list[Any]:
    if not paths:
        raise _bad("pass at least one --pubkey (a PEM public key or 64 hex digits)")
    try:
        return [load_verifier(_read(p, "key")) for p in paths]
    except OpenMoEBFTError as exc:
        raise _bad(exc.diagnostics()) from None


def _signer(path: Path | None) -> Ed25519Key | None:
    if path is None:
        return None
    try:
        return Ed25519Key.from_pem(_read(path, "private key"))
    except OpenMoEBFTError as exc:
        raise _bad(exc.diagnostics()) from None


def _open_chain(store: Path, key: Path | None) -> AuditChain:
    if not store.is_file():
        raise _bad(f"no store at {str(store)!r}")
    try:
        return AuditChain(store, signer=_signer(key))
    except OpenMoEBFTError as exc:
        raise _bad(exc.diagnostics()) from None


@app.command()
def keygen(
    out: Path = typer.Argument(..., help="Where to write the private key (PEM); the public "
                                         "key goes to OUT.pub."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
) -> None:
    """Generate an Ed25519 key pair."""
    pub = out.with_name(out.name + ".pub")
    if not force and (out.exists() or pub.exists()):
        raise _bad(f"{str(out)!r} or {str(pub)!r} exists: pass --force to overwrite")
    key = Ed25519Key.generate()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.to_pem())
    pub.write_bytes(key.public_key.to_pem())
    typer.echo(key.key_id)


@app.command()
def append(
    payload: str = typer.Argument(..., help="The payload, as JSON."),
    store: Path = typer.Option(..., "--store", help="SQLite store (created if missing)."),
    key: Path = typer.Option(None, "--key", help="Ed25519 private key (PEM) to sign with."),
    trace_id: str = typer.Option("", "--trace-id"),
) -> None:
    """Append one receipt and print it as JSON."""
    try:
        data = safe_json.loads(payload)
    except ValueError as exc:
        raise _bad(f"the payload is not JSON: {exc}") from None
    try:
        with AuditChain(store, signer=_signer(key)) as chain:
            receipt = chain.append(data, trace_id=trace_id)
    except OpenMoEBFTError as exc:
        raise _bad(exc.diagnostics()) from None
    typer.echo(receipt.to_json())


@app.command()
def export(
    store: Path = typer.Option(..., "--store", help="SQLite store holding the chain."),
    out: Path = typer.Option(..., "--out", help="File to write (JSON Lines)."),
    key: Path = typer.Option(None, "--key", help="Private key: sign a fresh tree head over "
                                                 "every entry before exporting."),
) -> None:
    """Write a self-contained export that verifies with only the public key."""
    with _open_chain(store, key) as chain:
        try:
            result = export_chain(chain, out)
        except OpenMoEBFTError as exc:
            raise _bad(exc.diagnostics()) from None
        except OSError as exc:
            raise _bad(f"cannot write {str(out)!r}: {exc.strerror}") from None
    typer.echo(json.dumps({"path": result.path, "entries": result.entries,
                           "checkpoints": result.checkpoints}))


@app.command()
def verify(
    file: Path = typer.Argument(..., help="An export written by `receipts export`."),
    pubkey: list[Path] = typer.Option([], "--pubkey", help="Public key file (repeat for "
                                                           "rotated keys)."),
    allow_unsealed: bool = typer.Option(False, "--allow-unsealed",
                                        help="Accept entries not under any signature."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Verify an export offline. Exit 0 ok, 1 tampered, 2 bad input."""
    keys = _pubkeys(pubkey)
    if not file.is_file():
        raise _bad(f"no file at {str(file)!r}")
    result = verify_export(file, keys, require_sealed=not allow_unsealed)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), sort_keys=True))
    elif result.ok:
        typer.echo(f"OK: {result.checked} entries, {result.signatures} entry signatures, "
                   f"{result.checkpoints} signed tree heads")
    else:
        typer.echo(f"TAMPERED at entry {result.broken_at}: {result.reason}")
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def prove(
    seq: int = typer.Argument(..., help="Sequence number of the receipt."),
    store: Path = typer.Option(None, "--store", help="SQLite store holding the chain."),
    file: Path = typer.Option(None, "--file", help="...or an export file."),
    key: Path = typer.Option(None, "--key", help="Private key: sign a fresh tree head if "
                                                 "none covers SEQ yet (store only)."),
) -> None:
    """Print an inclusion proof (JSON) for receipt SEQ under a signed tree head."""
    if (store is None) == (file is None):
        raise _bad("pass exactly one of --store or --file")
    try:
        if store is not None:
            with _open_chain(store, key) as chain:
                if key is not None and not any(cp.size > seq for cp in chain.checkpoints):
                    chain.checkpoint()
                proof = chain.inclusion_proof(seq)
        else:
            if not file.is_file():
                raise _bad(f"no file at {str(file)!r}")
            cps, tree = tree_of(file)
            if not 0 <= seq < tree.size:
                raise InvalidInput(f"no receipt {seq}: the export has {tree.size}",
                                   argument="seq")
            cp = next((c for c in cps if isinstance(c.size, int) and c.size > seq), None)
            size = tree.size if cp is None else cp.size
            proof = InclusionProof(seq, tree.leaf(seq).hex(), size, tree.root(size).hex(),
                                   tuple(h.hex() for h in tree.inclusion_proof(seq, size)), cp)
    except OpenMoEBFTError as exc:
        raise _bad(exc.diagnostics()) from None
    typer.echo(proof.to_json())


@app.command("verify-proof")
def verify_proof(
    proof: Path = typer.Argument(..., help="A proof written by `receipts prove`."),
    pubkey: list[Path] = typer.Option([], "--pubkey", help="Public key file."),
) -> None:
    """Check an inclusion proof with only the public key. Exit 0 ok, 1 fails, 2 bad input."""
    keys = _pubkeys(pubkey)
    try:
        parsed = InclusionProof.from_dict(safe_json.loads(_read(proof, "proof")))
    except (ValueError, OpenMoEBFTError) as exc:
        raise _bad(f"not an inclusion proof: {exc}") from None
    result = parsed.verify(keys)
    typer.echo(("OK: " if result.ok else "FAILED: ") + result.reason)
    raise typer.Exit(0 if result.ok else 1)
