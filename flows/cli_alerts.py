"""``shebao alerts setup``: the Prefect automations that tell people about the monthly close."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from warehouse.errors import InputError

alerts_app = typer.Typer(help="Alerts for deployed closes (a Prefect server is needed: PREFECT_API_URL).",
                         no_args_is_help=True)


class Target(StrEnum):
    wecom = "wecom"
    dingtalk = "dingtalk"
    feishu = "feishu"
    json = "json"


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")


@alerts_app.command("setup")
def setup(
    webhook: Annotated[str, typer.Option("--webhook", help="The robot's webhook address (WeCom: "
                                         "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...).")],
    target: Annotated[Target, typer.Option("--target", help="The message format the webhook takes.")] = Target.wecom,
) -> None:
    """Create (or replace) the automations: close failed, crashed or late; close completed with its counts."""
    from prefect.settings import PREFECT_API_URL

    if not webhook.startswith(("http://", "https://")):
        raise InputError(f"--webhook {webhook!r} is not a web address; pass the robot's https://... address.")
    if not PREFECT_API_URL.value():
        raise InputError("No Prefect server: set PREFECT_API_URL to the server the deployments run on "
                         "(e.g. http://127.0.0.1:4200/api).")
    from flows.alerts import setup_alerts

    names = setup_alerts(webhook, target.value)
    typer.echo(f"Alerts to the {target.value} webhook: " + "; ".join(names) + ".")
