"""The console's clock panels say the target the ticket's own facts chose: a case of the target, or none."""

from __future__ import annotations

from datetime import datetime

from sladesk.services import Role
from sladesk.services.tickets import change_path, open_ticket, reply
from tests.support.desk import Desk
from tests.support.units import committed
from tests.support.web import PASSWORD, WebPerson

opened = committed(open_ticket)
answered = committed(reply)
marked = committed(change_path)
MONDAY = datetime.fromisoformat("2026-11-02T09:00:00-07:00")  # Mon 2 Nov 2026 09:00 Mountain


def panel(page: str, metric: str) -> str:
    start = page.index(f'id="metric-{metric}"')
    return page[start : page.index("</dl>", start)]


def test_a_defect_on_the_release_path_and_a_level_4_defect_show_their_own_targets(desk: Desk):
    desk.clock.set(MONDAY)
    desk.user("skier", Role.CUSTOMER, desk.organisation("Summit", "aspenware"))
    desk.user("agent", Role.AGENT, password=PASSWORD)
    level_2 = opened(
        desk.sessions,
        desk.actors["skier"],
        subject="Day passes oversold",
        description="40 too many.",
        severity="L2",
        category="software_defect",
        now=MONDAY,
    ).ticket.id
    answered(desk.sessions, desk.actors["agent"], level_2, "Reproduced.", now=MONDAY)
    marked(desk.sessions, desk.actors["agent"], level_2, "release", "needs a code change", now=MONDAY)
    level_4 = opened(
        desk.sessions,
        desk.actors["skier"],
        subject="Lesson order",
        description="Youngest first, please.",
        severity="L4",
        category="software_defect",
        now=MONDAY,
    ).ticket.id
    agent = WebPerson(desk.app())
    agent.sign_in("agent@example.com")

    release = panel(agent.get(f"/tickets/{level_2}").text, "resolution")
    assert (
        "<dt>Target</dt><dd>within 2 release versions (for category Software defect, path Needs a new version)</dd>"
    ) in release
    discretion = panel(agent.get(f"/tickets/{level_4}").text, "resolution")
    assert (
        "<dt>Target</dt><dd>informational: tracked, never breached (for category Software defect or Feature "
        "request)</dd>"
    ) in discretion
