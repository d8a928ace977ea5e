"""The demo data behind ``inbox demo``: four operators, a web chat channel and one waiting
conversation. Idempotent: a second run adds only what is missing and changes nothing else.

Passwords are random on first run and kept in ``<data_dir>/demo-credentials.json`` (mode
0600), so the demo never ships a well-known password.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

from channels.webchat.spec import KIND as WEBCHAT
from inbox.domain.content import Text
from inbox.domain.messages import InboundMessage, SenderProfile
from inbox.domain.operators import Role, parse_skills
from inbox.usecases import add_channel, add_operator, ingest_inbound, list_channels, list_operators
from server.wiring import Wiring

__all__ = ["DEMO_CHANNEL", "DEMO_OPERATORS", "prepare_demo"]

#: Login, display name, role and skills of each demo operator.
DEMO_OPERATORS = (
    ("anna", "Anna Petrova", Role.OPERATOR, "ru,lenses=3"),
    ("boris", "Boris Ivanov", Role.OPERATOR, "ru,repairs=2"),
    ("sveta", "Svetlana Orlova", Role.SUPERVISOR, "ru"),
    ("admin", "Administrator", Role.ADMIN, ""),
)
DEMO_CHANNEL = "Demo shop"


async def prepare_demo(wiring: Wiring, host: str, port: int) -> None:
    """Seed the demo data, then print the URLs and the operators' credentials (a password
    set before this demo shows as unchanged)."""
    core = wiring.core
    creds_path = Path(wiring.settings.data_dir) / "demo-credentials.json"
    creds: dict[str, str] = {}
    if creds_path.is_file():
        creds = json.loads(creds_path.read_text("utf-8"))
    existing = {o.login for o in await list_operators(core)}
    for login_name, name, role, skills in DEMO_OPERATORS:
        if login_name in existing:
            continue
        creds[login_name] = creds.get(login_name) or secrets.token_urlsafe(9)
        await add_operator(
            core,
            wiring.hasher,
            login=login_name,
            password=creds[login_name],
            display_name=name,
            role=role,
            skills=parse_skills(skills),
        )
    creds_path.parent.mkdir(parents=True, exist_ok=True)
    creds_path.write_text(json.dumps(creds, indent=2), "utf-8")
    os.chmod(creds_path, 0o600)

    webchats = [c for c in await list_channels(core) if c.kind == WEBCHAT]
    channel = next((c for c in webchats if c.name == DEMO_CHANNEL), None)
    if channel is None:
        channel = await add_channel(core, WEBCHAT, DEMO_CHANNEL, {})
    await ingest_inbound(
        core,
        InboundMessage(
            channel_id=channel.id,
            external_id="demo:welcome-1",
            sender=SenderProfile("demo-visitor-1", display_name="Maria (demo)"),
            parts=(Text("Hello! Do you have progressive lenses for astigmatism in stock?"),),
            thread_key="demo-visitor-1",
        ),
    )
    url = f"http://{host}:{port}"
    # The sandbox payment provider: order links open a local pay page (docs/payments.md).
    providers = await wiring.payments.list_providers()
    if not any(p.kind == "sandbox" for p in providers):
        await wiring.payments.add_provider("sandbox", "Sandbox (demo)", {"public_url": url})
    print(f"Inbox demo on {url}  (console: {url}/   customer page: {url}/demo)")
    print("Payments: the sandbox provider is on; a payment link opens a local pay page.")
    print("Operators (login / password):")
    for login_name, name, role, _ in DEMO_OPERATORS:
        shown = creds.get(login_name, "(set before this demo; unchanged)")
        print(f"  {login_name:6} / {shown:14}  {name}, {role}")
    sys.stdout.flush()
