"""Agent cards for the A2A tests, in the shape of the A2A specification's own examples."""

from __future__ import annotations

import copy
from typing import Any

from openmoe_bft.a2a import EXTENSION_URI
from openmoe_bft.a2a._experts import expert_table
from openmoe_bft.eu_ai_act.samples import sample_evidence

TODAY = "2026-11-25"


def minimal_card() -> dict[str, Any]:
    """The smallest valid A2A 1.0 card (every REQUIRED field, one skill)."""
    return {
        "name": "Recipe Agent",
        "description": "Agent that helps users with recipes and cooking.",
        "version": "1.0.0",
        "supportedInterfaces": [{"url": "https://recipes.example.com/a2a/v1",
                                 "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
        "capabilities": {},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "find-recipe", "name": "Find recipe",
                    "description": "Finds a recipe for the dish you name.",
                    "tags": ["cooking", "recipes"]}],
    }


def full_card() -> dict[str, Any]:
    """A full A2A 1.0 card: provider, three bindings, security, two skills."""
    card = minimal_card()
    card.update({
        "name": "GeoSpatial Route Planner Agent",
        "description": "Provides advanced route planning, traffic analysis, and custom map "
                       "generation services.",
        "version": "1.2.0",
        "supportedInterfaces": [
            {"url": "https://georoute-agent.example.com/a2a/v1",
             "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
            {"url": "https://georoute-agent.example.com/a2a/grpc",
             "protocolBinding": "GRPC", "protocolVersion": "1.0"},
            {"url": "https://georoute-agent.example.com/a2a/json",
             "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"},
        ],
        "provider": {"organization": "Example Geo Services Inc.",
                     "url": "https://www.examplegeoservices.com"},
        "iconUrl": "https://georoute-agent.example.com/icon.png",
        "documentationUrl": "https://docs.examplegeoservices.com/georoute-agent/api",
        "capabilities": {"streaming": True, "pushNotifications": True,
                         "extendedAgentCard": False},
        "securitySchemes": {
            "google": {"openIdConnectSecurityScheme": {
                "openIdConnectUrl": "https://accounts.google.com/.well-known/openid-configuration"}},
            "bearer": {"httpAuthSecurityScheme": {"scheme": "Bearer", "bearerFormat": "JWT"}},
        },
        "securityRequirements": [{"schemes": {"google": {"list": ["openid", "profile"]}}}],
        "defaultInputModes": ["application/json", "text/plain"],
        "defaultOutputModes": ["application/json", "image/png"],
        "skills": [
            {"id": "route-optimizer-traffic", "name": "Traffic-Aware Route Optimizer",
             "description": "Calculates the optimal driving route between two or more "
                            "locations, taking into account real-time traffic conditions.",
             "tags": ["maps", "routing", "navigation"],
             "examples": ["Plan a route from '1600 Amphitheatre Parkway' to 'San Francisco'."],
             "inputModes": ["application/json", "text/plain"],
             "outputModes": ["application/json"]},
            {"id": "custom-map-generator", "name": "Personalized Map Generator",
             "description": "Creates custom map images based on user-defined points.",
             "tags": ["maps", "customization", "visualization"],
             "examples": ["Generate a map of my upcoming road trip."],
             "outputModes": ["image/png"]},
        ],
    })
    return card


def expert_fields() -> dict[str, Any]:
    """A value for each of the 14 experts' fields (attestations the registry accepts
    in the seed's convention), over the structured EU AI Act sample evidence."""
    md = copy.deepcopy(sample_evidence(today=TODAY)["metadata"])
    for _eid, _name, key in expert_table():
        md.setdefault(key, {"present": True})
    return md


def card_with_fields() -> dict[str, Any]:
    """The full card with the evidence in top-level ``metadata`` (the seed's place)."""
    card = full_card()
    card["metadata"] = expert_fields()
    return card


def extension_card() -> dict[str, Any]:
    """The full card with the evidence in the OpenScore A2A extension's params."""
    card = full_card()
    card["capabilities"]["extensions"] = [{
        "uri": EXTENSION_URI, "description": "OpenScore compliance evidence",
        "required": False, "params": expert_fields()}]
    return card


def card_0_3() -> dict[str, Any]:
    """An A2A 0.3 card: top-level url and preferredTransport, with the evidence."""
    return {
        "protocolVersion": "0.3.0",
        "name": "Recipe Agent",
        "description": "Agent that helps users with recipes and cooking.",
        "url": "https://recipes.example.com/a2a/v1",
        "preferredTransport": "JSONRPC",
        "version": "1.0.0",
        "capabilities": {"streaming": True},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "find-recipe", "name": "Find recipe",
                    "description": "Finds a recipe.", "tags": ["cooking"]}],
        "metadata": expert_fields(),
    }
