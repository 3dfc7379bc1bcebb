"""`sfsync emulator ...`: the org emulator as a standalone HTTPS server."""

from __future__ import annotations

import json
import signal
import socket
import threading
from types import FrameType
from typing import Annotated, Any, NoReturn

import typer

from sfsync.emulator.org import Org
from sfsync.emulator.server import Emulator

app = typer.Typer(help="The local Salesforce org emulator.", no_args_is_help=True)

DEFAULT_LEADS = 1000
MAX_LEADS = 1_000_000
# Exit code for options that cannot work (Typer uses 2 for its own usage errors too).
EXIT_INVALID = 2


@app.callback()
def _group() -> None:
    """The local Salesforce org emulator."""


@app.command()
def serve(
    leads: Annotated[
        int, typer.Option(min=0, max=MAX_LEADS, help="Leads to generate in the seeded org.")
    ] = DEFAULT_LEADS,
    seed: Annotated[int, typer.Option(help="Seed of the generated org (same seed, same org).")] = 0,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on; 0 picks a free one.")
    ] = 0,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = (
        "127.0.0.1"
    ),
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the connection details as one JSON line.")
    ] = False,
) -> None:
    """Serve a seeded org over HTTPS until SIGTERM or Ctrl-C."""
    # Checked before seeding, which takes a while on big orgs: a bad address fails fast.
    _check_address(host, port)
    org, run_as = _seeded_org(leads, seed)
    emulator = Emulator(org, host=host, port=port, seed=seed, run_as_user_id=run_as)
    try:
        emulator.start()
    except OSError as exc:
        _cannot_listen(host, port, exc)
    try:
        _announce(emulator, json_output)
        _wait_for_signal()
    finally:
        emulator.stop()


def _check_address(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((host, port))
    except OSError as exc:
        _cannot_listen(host, port, exc)


def _cannot_listen(host: str, port: int, exc: OSError) -> NoReturn:
    typer.echo(f"Error: cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
    raise typer.Exit(EXIT_INVALID) from exc


def _seeded_org(leads: int, seed: int) -> tuple[Org, str]:
    # Imported here: seeding pulls in Faker and the seed tables, which only `serve` needs.
    from sfsync.emulator.seed import build_org

    seeded = build_org(leads=leads, seed=seed)
    return seeded.org, seeded.integration_user_id


def connection_details(emulator: Emulator) -> dict[str, str]:
    """What a client needs to reach the running emulator (it holds throw-away secrets only)."""
    credentials = emulator.credentials
    return {
        "instance_url": emulator.instance_url,
        "login_url": emulator.login_url,
        "ca_file": str(emulator.ca_file),
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
        "username": credentials.username,
        "access_token": credentials.access_token,
        "private_key_file": str(credentials.private_key_file),
    }


def _announce(emulator: Emulator, as_json: bool) -> None:
    details = connection_details(emulator)
    if as_json:
        print(json.dumps(details), flush=True)
        return
    width = max(len(name) for name in details)
    for name, value in details.items():
        typer.echo(f"{name.replace('_', ' '):<{width}}  {value}")
    typer.echo(f"\nexport REQUESTS_CA_BUNDLE={details['ca_file']}  # trust the emulator's CA")
    typer.echo("Serving; stop with Ctrl-C or SIGTERM.")


def _wait_for_signal() -> None:
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[signal.Signals, Any] = {
        sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        # A timeout keeps the main thread responsive to signals on every platform.
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
