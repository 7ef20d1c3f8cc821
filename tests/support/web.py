"""A person at the web pages: a cookie-keeping client of the desk's app that signs in and sends forms.

person = WebPerson(desk.app())
person.sign_in("customer@example.com", PASSWORD)
page = person.get("/portal")                     # the HTML
person.submit("/portal/new", {"subject": "..."})  # a form, with the CSRF token of the last page read
"""

from __future__ import annotations

import html
import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"  # the password tests give the people who sign in
_CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def csrf_of(page: str) -> str:
    """The CSRF token of the first form in `page`."""
    found = _CSRF.search(page)
    assert found is not None, f"no CSRF field in the page: {page[:500]}"
    return html.unescape(found.group(1))


class WebPerson:
    """One browser's worth of cookies against `app`; redirects are not followed unless asked."""

    def __init__(self, app: FastAPI, base_url: str = "http://testserver") -> None:
        self.client = TestClient(app, base_url=base_url, follow_redirects=False)
        self.last_page = ""

    def get(self, path: str, **kwargs: Any) -> Any:
        answer = self.client.get(path, **kwargs)
        if answer.headers.get("content-type", "").startswith("text/html"):
            self.last_page = answer.text
        return answer

    def submit(self, path: str, fields: dict[str, Any], *, files: Any = None, csrf: str | None = None) -> Any:
        """POST a form from the last page read (its CSRF token unless `csrf` is given)."""
        data = {"csrf": csrf if csrf is not None else csrf_of(self.last_page), **fields}
        answer = self.client.post(path, data=data, files=files)
        if answer.headers.get("content-type", "").startswith("text/html"):
            self.last_page = answer.text
        return answer

    def sign_in(self, email: str, password: str = PASSWORD) -> Any:
        self.get("/sign-in")
        answer = self.submit("/sign-in", {"email": email, "password": password})
        assert answer.status_code == 303, answer.text
        return answer
