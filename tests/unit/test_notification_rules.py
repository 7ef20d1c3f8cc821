"""People's notification rules for pages: what is accepted, how it is written back, and what is refused by name."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sladesk.services.errors import InvalidFieldError
from sladesk.services.notification_rules import MAX_RULES, NotificationRule, check_rules

ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"
HOOK = "https://chat.example/hooks/T0/B0/secret"


def test_the_rules_of_the_reference_come_back_in_order_with_their_delays():
    rules = check_rules(
        [
            {"after": "0m", "channel": "email"},
            {"after": "0m", "channel": "chat", "to": HOOK},
            {"after": "5m", "channel": "pagerduty", "to": ROUTING_KEY},
            {
                "after": "1h 30m",
                "channel": "pagerduty",
                "to": "eu-key",
                "url": "https://events.eu.pagerduty.com/v2/enqueue",
            },
        ]
    )
    assert rules == [
        NotificationRule(timedelta(0), "email"),
        NotificationRule(timedelta(0), "chat", HOOK),
        NotificationRule(timedelta(minutes=5), "pagerduty", ROUTING_KEY),
        NotificationRule(timedelta(minutes=90), "pagerduty", "eu-key", "https://events.eu.pagerduty.com/v2/enqueue"),
    ]
    assert [rule.stored() for rule in rules] == [
        {"after": "0m", "channel": "email"},
        {"after": "0m", "channel": "chat", "to": HOOK},
        {"after": "5m", "channel": "pagerduty", "to": ROUTING_KEY},
        {
            "after": "1h 30m",
            "channel": "pagerduty",
            "to": "eu-key",
            "url": "https://events.eu.pagerduty.com/v2/enqueue",
        },
    ]


def test_delays_are_written_back_the_one_way():
    written = [
        check_rules([{"after": after, "channel": "email"}])[0].stored()["after"]
        for after in ("90 minutes", "2 hours", "45s", "24h")
    ]
    assert written == ["1h 30m", "2h", "45s", "24h"]


def test_no_rules_is_an_empty_list():
    assert check_rules([]) == []


@pytest.mark.parametrize(
    ("rules", "field", "message"),
    [
        ([{"after": "soon", "channel": "email"}], "rules.0.after", "cannot read 'soon' as a duration"),
        ([{"channel": "email"}], "rules.0.after", "required: how long after the page"),
        ([{"after": "2 business days", "channel": "email"}], "rules.0.after", "pages count elapsed time"),
        ([{"after": "25h", "channel": "email"}], "rules.0.after", "'25h' is longer than 24h"),
        ([{"after": "0m", "channel": "sms"}], "rules.0.channel", "'sms': a channel is one of email, chat, pagerduty"),
        ([{"after": "0m"}], "rules.0.channel", "missing: a channel is one of"),
        ([{"after": "0m", "channel": "email", "to": "boss@example.com"}], "rules.0.to", "the person's own address"),
        ([{"after": "0m", "channel": "chat"}], "rules.0.to", "required: the chat room's incoming-webhook URL"),
        ([{"after": "0m", "channel": "chat", "to": "ftp://chat.example/x"}], "rules.0.to", "only http and https"),
        (
            [{"after": "0m", "channel": "chat", "to": "https://bot:pw@chat.example/x"}],
            "rules.0.to",
            "carries credentials",
        ),
        ([{"after": "5m", "channel": "pagerduty"}], "rules.0.to", "required: the integration's routing key"),
        ([{"after": "5m", "channel": "pagerduty", "to": "has space"}], "rules.0.to", "a PagerDuty routing key is"),
        (
            [{"after": "5m", "channel": "pagerduty", "to": ROUTING_KEY, "url": "events.pagerduty.com"}],
            "rules.0.url",
            "only http and https",
        ),
        ([{"after": "0m", "channel": "chat", "to": HOOK, "url": HOOK}], "rules.0.url", "only a pagerduty rule"),
        ([{"after": "0m", "channel": "email", "wait": "1m"}], "rules.0.wait", "unknown field"),
        (
            [{"after": "0m", "channel": "email"}, {"after": "1m", "channel": "pagerduty", "to": ""}],
            "rules.1.to",
            "required",
        ),
        ([{"after": "0m", "channel": "email"}] * (MAX_RULES + 1), "rules", "at most 10 rules, not 11"),
    ],
)
def test_a_refused_rule_names_its_field(rules: list[dict[str, Any]], field: str, message: str):
    with pytest.raises(InvalidFieldError) as refused:
        check_rules(rules)
    assert refused.value.field == field
    assert message in str(refused.value)
    assert str(refused.value).startswith(f"{field}: ")


def test_ten_rules_are_allowed():
    assert len(check_rules([{"after": f"{minute}m", "channel": "email"} for minute in range(MAX_RULES)])) == MAX_RULES
