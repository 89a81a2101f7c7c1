"""``python -m openmoe_bft.server [--host --port --token ...]``: serve MCP over HTTP."""

import typer

from .cli import serve

if __name__ == "__main__":
    typer.run(serve)
