"""Alerts for the monthly close: Prefect automations that post to a webhook (a WeCom, DingTalk or Feishu
group robot, or any JSON endpoint) when a deployed close fails, crashes or is late, and when one
completes (with its counts, from the ``shebao.close.completed`` event; never a name or an ID number).

``shebao alerts setup --webhook URL`` creates or replaces them on the Prefect server of
``PREFECT_API_URL``; docs/deployments.md shows it.
"""

from __future__ import annotations

from flows.close_summary import COMPLETED_EVENT

BLOCK_NAME = "shebao-alerts"
FLOW_NAME = "monthly-close"
# The JSON each target's robot takes; {{subject}} and {{body}} are filled by Prefect's webhook block.
PAYLOADS = {
    "wecom": {"msgtype": "text", "text": {"content": "{{subject}}\n{{body}}"}},
    "dingtalk": {"msgtype": "text", "text": {"content": "{{subject}}\n{{body}}"}},
    "feishu": {"msg_type": "text", "content": {"text": "{{subject}}\n{{body}}"}},
    "json": {"subject": "{{subject}}", "body": "{{body}}"},
}
# In Chinese for the HR group the robot posts to (issue 30): the state by its Chinese name, the run by its
# month; the exception text (an English sentence for the operator) stays in the run's logs.
STATE_ZH = ("{% if flow_run.state.name == 'Crashed' %}异常中止{% elif flow_run.state.name == 'TimedOut' %}"
            "超时{% else %}失败{% endif %}")
FAILED_BODY = ("月结运行 {{ flow_run.name | replace('close-', '') }} " + STATE_ZH + "。\n"
               "原因已记录在该运行的日志中，请系统管理员查看并处理后重跑（重跑是安全的，不会重复入账）。")
LATE_BODY = ("月结运行 {{ flow_run.name | replace('close-', '') }} 已过计划时间仍未开始：请系统管理员检查月结调度服务"
             "是否在运行。")
COMPLETED_BODY = ("期间 {{ event.payload.period }} 月结完成：新文件 {{ event.payload.files_new }} 个，"
                  "入库 {{ event.payload.rows_staged }} 行（拒收 {{ event.payload.rows_rejected }} 行）；"
                  "台账 {{ event.payload.employees_in_ledger }} 人；问题 {{ event.payload.findings }} 条"
                  "（错误 {{ event.payload.errors }}，警告 {{ event.payload.warnings }}）；"
                  "待处理动作 {{ event.payload.open_actions }} 项。")
AUTOMATIONS = ("shebao: close failed or crashed", "shebao: close late", "shebao: close completed")


def setup_alerts(webhook: str, target: str = "wecom") -> list[str]:
    """Save the webhook block and (re)create the three automations; return their names."""
    from prefect.automations import Automation
    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import EventTrigger, Posture

    block = CustomWebhookNotificationBlock(name=BLOCK_NAME, url=webhook, method="POST",
                                           json_data=PAYLOADS[target])
    block_id = block.save(BLOCK_NAME, overwrite=True)
    for name in AUTOMATIONS:
        for existing in _automations_named(name):
            existing.delete()
    flow_is_close = {"prefect.resource.role": "flow", "prefect.resource.name": FLOW_NAME}
    specs = [
        (AUTOMATIONS[0], {"prefect.flow-run.Failed", "prefect.flow-run.Crashed", "prefect.flow-run.TimedOut"},
         flow_is_close, "shebao 月结失败", FAILED_BODY),
        (AUTOMATIONS[1], {"prefect.flow-run.Late"}, flow_is_close, "shebao 月结延迟", LATE_BODY),
        (AUTOMATIONS[2], {COMPLETED_EVENT}, {}, "shebao 月结完成", COMPLETED_BODY),
    ]
    for name, events, related, subject, body in specs:
        trigger = EventTrigger(expect=events, match={"prefect.resource.id": "*"}, match_related=related,
                               posture=Posture.Reactive, threshold=1)
        Automation(name=name, description="Created by `shebao alerts setup`.", trigger=trigger,
                   actions=[SendNotification(block_document_id=block_id, subject=subject, body=body)]).create()
    return list(AUTOMATIONS)


def _automations_named(name: str) -> list:
    from prefect.automations import Automation

    try:
        found = Automation.read(name=name)
    except ValueError:  # none by that name
        return []
    return found if isinstance(found, list) else [found]
