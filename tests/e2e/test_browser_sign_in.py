"""In a real browser: the employee and the manager sign in through Keycloak's login page, and the
manager approves the employee's advancement on the intranet."""

import os

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import ROOT
from tests.e2e.identity import PASSWORD
from tests.e2e.scenario import Academy
from tests.support import wait_for

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    executable = os.environ.get("SKILLSTACK_TEST_CHROMIUM")
    if not executable:
        pytest.fail("SKILLSTACK_TEST_CHROMIUM is not set: run the suite with deploy/test.sh, which installs Chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def sign_in(page, username: str) -> None:
    """Fill Keycloak's own login form, as a person would."""
    expect(page.locator("#username")).to_be_visible()
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#kc-login")


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_the_manager_approves_on_the_intranet_after_signing_in_through_the_identity_provider(platform, browser):
    academy = Academy(platform)
    employee, manager = academy.employee, academy.manager
    academy.define_catalog()
    academy.define_pathway()
    academy.import_org_chart()
    for person in (employee, manager):
        academy.as_person("pathways", person)  # adds them to the identity provider
    for achievement_id in (academy.sql, academy.python):
        assert academy.post_completion(academy.completion(employee, achievement_id, 95)).status_code == 202
    wait_for(lambda: academy.open_requests(manager), timeout=30, message="the advancement request")
    pathways = platform.urls["pathways"]

    employee_page = browser.new_context().new_page()
    employee_page.goto(f"{pathways}/")
    assert "/realms/skillstack/" in employee_page.url  # sent to the identity provider
    sign_in(employee_page, employee.employee_id)
    expect(employee_page.get_by_role("heading", name="My pathway")).to_be_visible()
    expect(employee_page.get_by_text("waiting for your manager's approval")).to_be_visible()
    expect(employee_page.get_by_text(employee.name)).to_be_visible()
    shot(employee_page, "employee-my-pathway")

    manager_page = browser.new_context().new_page()
    manager_page.goto(f"{pathways}/approvals")
    sign_in(manager_page, manager.employee_id)
    assert manager_page.url == f"{pathways}/approvals"  # brought back where they were going
    request = manager_page.get_by_role("region", name=f"{employee.name}: level 1")
    expect(request).to_be_visible()
    shot(manager_page, "manager-approvals")
    request.get_by_label("Comment").fill("Well earned, congratulations!")
    request.get_by_role("button", name="Approve").click()
    expect(manager_page.get_by_role("status")).to_have_text("Request approved.")
    expect(manager_page.get_by_text("Nothing to approve")).to_be_visible()
    shot(manager_page, "manager-approved")

    employee_page.reload()
    expect(employee_page.get_by_text("— reached")).to_be_visible()
    shot(employee_page, "employee-level-reached")

    manager_page.get_by_role("button", name="Sign out").click()
    manager_page.goto(f"{pathways}/approvals")
    expect(manager_page.locator("#username")).to_be_visible()  # signed out here and at the identity provider
