"""The golden path through the intranet's pages, as each person lives it: in a real browser, under the
gateway's one origin, everyone signing in through the identity provider.

HR defines a credential in the catalog (watching the badge preview), designs the pathway and imports
the org chart (dry run, then apply); the academy's LMS reports passed assessments over the API; the
employee follows their ladder, opens their inbox, wallet and a badge, and shares it publicly; their
manager approves in place; the employee sees the level reached; HR reads the overview, the analytics
and the delivery log.

Every main page is checked with axe-core (tests/e2e/vendor/axe-core: WCAG 2.0/2.1 A and AA and best
practices) and saved as a full-page screenshot in test-artifacts/ (journey-<page>.png, its findings in
axe-<page>.json); the employee's start page and the approvals also at a phone's 360 px. axe runs in the
page under its real Content-Security-Policy (script-src 'self'): it is evaluated through the browser's
DevTools protocol (page.evaluate), to which the policy does not apply, not added as a <script>.
"""

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ROOT
from tests.e2e import test_browser_sign_in
from tests.e2e.scenario import Academy
from tests.support import unique, wait_for

browser = test_browser_sign_in.browser  # the fixture: Debian's Chromium (SKILLSTACK_TEST_CHROMIUM), one per module
sign_in = test_browser_sign_in.sign_in  # fills Keycloak's own login form

ARTIFACTS = ROOT / "test-artifacts"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    "resultTypes": ["violations"],  # axe then details only what fails: faster on a loaded machine
}
BLOCKING = ("serious", "critical")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
WAIT_MS = 30_000  # generous: the machine runs other suites at the same time


@pytest.fixture(autouse=True)
def patient_expectations():
    """Let every expect() wait up to WAIT_MS, as the pages' background work may take a while here."""
    expect.set_options(timeout=WAIT_MS)
    yield
    expect.set_options(timeout=None)


class Journey:
    """What the test looked at: each page's screenshot, and axe's serious and critical findings."""

    def __init__(self, browser, origin: str):
        self.browser, self.origin = browser, origin
        self.blocking: dict[str, list[dict]] = {}
        self.axe_source = AXE.read_text()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def person(self) -> Page:
        """A new browser (its own cookies) at desktop width."""
        context = self.browser.new_context(viewport=DESKTOP)
        context.set_default_timeout(WAIT_MS)
        return context.new_page()

    def look_at(self, page: Page, name: str, *, phone: bool = False) -> None:
        """Check the page with axe-core and save its full-page screenshot (at 360 px with `phone`)."""
        if phone:
            page.set_viewport_size(PHONE)
            # Reflow (WCAG 1.4.10): nothing wider than the phone, but for the tables that scroll inside their box.
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], f"{name} scrolls sideways at 360 px"
        expect(page.locator("main#main")).to_be_visible()
        if page.evaluate("typeof axe === 'undefined'"):
            page.evaluate(self.axe_source)
        results = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
        assert results["passes"], f"axe checked nothing on {name}"
        violations = results["violations"]
        findings = {"url": page.url, "axe": results["testEngine"]["version"], "violations": violations,
                    "needs_review": results["incomplete"]}  # what axe could not decide (its first node each): for a person to look at
        (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(findings, indent=2))
        if violations:
            print(f"\naxe on {name} ({page.url}):\n" + json.dumps(violations, indent=2))
        blocking = [violation for violation in violations if violation["impact"] in BLOCKING]
        if blocking:
            self.blocking[name] = blocking
        page.screenshot(path=str(ARTIFACTS / f"journey-{name}.png"), full_page=True)
        if phone:
            page.set_viewport_size(DESKTOP)


def reload_until(page: Page, locator, message: str) -> None:
    """Reload until `locator` is on the page: what the workers do in the background shows on a later load."""

    def shown() -> bool:
        if locator.count():
            return True
        page.reload()
        return False

    wait_for(shown, timeout=60, interval=0.5, message=message)


def test_hr_the_employee_and_the_manager_walk_the_golden_path_through_the_intranet(platform, intranet, browser):
    journey = Journey(browser, intranet)
    academy = Academy(platform)
    employee, manager = academy.employee, academy.manager
    for person in (employee, manager):
        academy.as_person("pathways", person)  # adds them to the identity provider
    academy.define_catalog()  # SQL, Python and visualisation, by the API; it adds HR to the identity provider too

    hr = journey.person()
    storytelling = hr_defines_a_credential(journey, hr, academy)
    pathway_name = hr_designs_the_pathway(journey, hr, academy, storytelling)
    hr_imports_the_org_chart(journey, hr, academy)

    # The LMS reports the two assessments level 1 needs (over the API, as the academy does).
    for achievement_id in (academy.sql, academy.python):
        assert academy.post_completion(academy.completion(employee, achievement_id, 92)).status_code == 202
    wait_for(lambda: academy.open_requests(manager), timeout=60, message="the advancement request")
    wait_for(lambda: len(academy.inbox(employee)) == 2, timeout=60, message="the employee's two inbox items")

    employee_page = the_employee_follows_their_pathway(journey, academy, pathway_name)
    the_manager_approves_in_place(journey, academy)

    employee_page.get_by_test_id("nav-pathway").click()
    expect(employee_page.get_by_text("— reached")).to_be_visible()
    journey.look_at(employee_page, "employee-level-reached")

    hr_reads_the_figures(journey, hr, academy, pathway_name)

    assert not journey.blocking, "axe found serious or critical violations on: " + ", ".join(
        f"{page} ({', '.join(violation['id'] for violation in found)})" for page, found in journey.blocking.items()
    )


def hr_defines_a_credential(journey: Journey, page: Page, academy: Academy) -> str:
    """HR signs in at the catalog and defines Data Storytelling, the badge preview redrawn as they type; its id."""
    page.goto(f"{journey.origin}/issuer/catalog")
    assert "/realms/skillstack/" in page.url  # sent to the identity provider
    sign_in(page, academy.hr_person.employee_id)
    expect(page.get_by_role("heading", name="Credential catalog", exact=True)).to_be_visible()
    expect(page.get_by_test_id("nav-catalog")).to_have_attribute("aria-current", "page")
    journey.look_at(page, "hr-catalog")

    page.get_by_role("button", name="Define a credential").click()
    expect(page.get_by_role("heading", name="Define a credential")).to_be_visible()
    achievement_id = unique("storytelling")
    page.fill("#id", achievement_id)
    page.fill("#name", "Data Storytelling")
    preview = page.get_by_test_id("badge-preview-image")
    expect(preview).to_have_attribute("alt", "The generated badge for Data Storytelling")  # htmx redrew it
    drawn_before = preview.get_attribute("src")
    page.fill("#colour", "#7a3e9d")
    expect(preview).not_to_have_attribute("src", drawn_before)  # and again for the new colour
    page.fill("#description", "Tells the story behind the numbers.")
    page.select_option("#category", "soft")
    page.select_option("#level", "Intermediate")
    page.fill("#validity_months", "24")
    page.fill("#assessment_id", f"{achievement_id}-exam")
    page.fill("#min_score", "70")
    journey.look_at(page, "hr-catalog-new")
    page.get_by_role("button", name="Define the credential").click()
    expect(page.get_by_role("status")).to_have_text(f"Data Storytelling ({achievement_id}) is in the catalog as version 1.")
    expect(page.get_by_role("row", name=re.compile("Data Storytelling"))).to_contain_text("Active")
    return achievement_id


def hr_designs_the_pathway(journey: Journey, page: Page, academy: Academy, storytelling: str) -> str:
    """HR designs a two-level pathway in the designer, once the catalog has reached pathways; its name."""
    name = f"Data Analyst {academy.pathway_id[-4:]}"
    page.get_by_test_id("nav-designer").click()
    expect(page.get_by_role("heading", name="Pathway designer")).to_be_visible()
    page.get_by_role("link", name="Define a pathway").first.click()
    reload_until(page, page.locator(f"#level_1_all_of option[value='{storytelling}']"), "the new credential to reach pathways")
    page.fill("#id", academy.pathway_id)
    page.fill("#name", name)
    page.fill("#level_0_name", "Junior Analyst")
    page.select_option("#level_0_all_of", [academy.sql, academy.python])
    page.fill("#level_1_name", "Associate Analyst")
    page.select_option("#level_1_all_of", [academy.viz, storytelling])
    journey.look_at(page, "hr-designer-new")
    page.get_by_role("button", name="Define the pathway").click()
    expect(page.get_by_role("status")).to_have_text(f"{name} ({academy.pathway_id}) is saved as version 1.")
    designed = page.get_by_role("region", name=re.compile(re.escape(name)))
    expect(designed.get_by_role("row")).to_have_count(3)  # the header and two levels
    expect(designed.get_by_role("row", name=re.compile("Associate Analyst"))).to_contain_text(
        re.compile(r"All of: (Data Storytelling, Data Visualisation|Data Visualisation, Data Storytelling)\.")
    )
    journey.look_at(page, "hr-designer")
    return name


def hr_imports_the_org_chart(journey: Journey, page: Page, academy: Academy) -> None:
    """HR checks the org chart with a dry run, reads it row by row, then applies it."""
    people = (academy.skip_level, academy.manager, *academy.employees)
    chart = "\n".join(["employee_id,email,name,manager_id"] + [f"{p.employee_id},{p.email},{p.name},{p.manager_id}" for p in people])
    page.get_by_test_id("nav-org-chart").click()
    expect(page.get_by_test_id("import-form")).to_be_visible()
    page.set_input_files("#chart", files=[{"name": "org-chart.csv", "mimeType": "text/csv", "buffer": chart.encode()}])
    page.get_by_test_id("check-import").click()
    expect(page.get_by_test_id("dry-run")).to_contain_text("Importing it would add 3, update 0 and leave 0 unchanged")
    expect(page.get_by_test_id("import-rows").get_by_role("row")).to_have_count(4)  # the header and three people
    journey.look_at(page, "hr-org-chart-dry-run")
    page.get_by_test_id("apply-import").click()
    expect(page.get_by_role("status")).to_have_text("The org chart is imported: 3 added, 0 updated, 0 unchanged.")
    journey.look_at(page, "hr-org-chart")


def the_employee_follows_their_pathway(journey: Journey, academy: Academy, pathway_name: str) -> Page:
    """The employee signs in at the start page, reads their inbox, opens a credential in their wallet,
    shares it publicly and looks at its public page; a visitor opens it at the origin's root."""
    employee = academy.employee
    page = journey.person()
    page.goto(f"{journey.origin}/")  # the origin's start page is the employee's pathway
    sign_in(page, employee.employee_id)
    expect(page.get_by_role("heading", name="My pathway")).to_be_visible()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(employee.name)
    expect(page.get_by_test_id("next-step")).to_contain_text(re.compile(r"Earn .+: it counts towards Associate Analyst"))
    ladder = page.get_by_role("region", name=pathway_name)
    expect(ladder.locator('progress[aria-label="Junior Analyst: 2 of 2 credentials"]')).to_have_attribute("value", "2")
    expect(ladder.locator('progress[aria-label="Associate Analyst: 0 of 2 credentials"]')).to_have_attribute("value", "0")
    expect(ladder).to_contain_text("waiting for your manager's approval")

    page.get_by_test_id("nav-inbox").click()
    expect(page.get_by_role("heading", name=re.compile(r"Inbox \(2 unread\)"))).to_be_visible()
    journey.look_at(page, "employee-inbox")
    page.get_by_role("button", name="Open", exact=True).first.click()  # the message's link, on the intranet's origin
    expect(page).to_have_url(re.compile(re.escape(f"{journey.origin}/issuer/wallet")))

    expect(page.get_by_role("heading", name="My credentials", exact=True)).to_be_visible()
    expect(page.locator("section.credential")).to_have_count(2)
    journey.look_at(page, "employee-wallet")
    sql = page.locator("section.credential", has=page.get_by_role("heading", name="SQL Foundations"))
    credential_id = sql.get_attribute("id").removeprefix("credential-")
    sql.get_by_role("button", name="Share SQL Foundations publicly").click()
    expect(page.get_by_role("status")).to_contain_text("Shared: anyone with the link sees your name")
    sql.get_by_role("link", name="Open the public verification page").click()
    expect(page.get_by_test_id("public-credential")).to_contain_text(f"Held by {employee.name}.")
    journey.look_at(page, "employee-badge")

    visitor = journey.person()  # anyone with the link, signed in nowhere, at the origin's root
    visitor.goto(f"{journey.origin}/credentials/{credential_id}")
    expect(visitor.get_by_test_id("verification")).to_contain_text("Verified")
    expect(visitor.get_by_test_id("public-credential")).to_contain_text(f"Held by {employee.name}.")
    expect(visitor.get_by_test_id("share")).to_be_visible()
    expect(visitor.locator(".site-header")).to_have_css("background-color", "rgb(31, 58, 95)")  # its styles, under /issuer
    journey.look_at(visitor, "public-credential")
    visitor.context.close()

    page.get_by_role("link", name="Skillstack", exact=True).click()  # home, now signed in to all three services
    expect(page.get_by_test_id("wallet-summary")).to_contain_text("2 valid")
    expect(page.get_by_test_id("inbox-summary").get_by_role("listitem")).to_have_count(2)
    expect(page.get_by_test_id("unread-count")).to_have_text("1 unread")  # one of the two was opened from the inbox
    journey.look_at(page, "employee-home")
    journey.look_at(page, "employee-home-phone", phone=True)
    return page


def the_manager_approves_in_place(journey: Journey, academy: Academy) -> None:
    """The manager signs in at their team page and approves the request on the approvals page, in place."""
    employee, manager = academy.employee, academy.manager
    page = journey.person()
    page.goto(f"{journey.origin}/pathways/team")
    sign_in(page, manager.employee_id)
    expect(page.get_by_test_id("team-approvals")).to_contain_text("1 request waiting for your approval")
    expect(page.get_by_test_id("team-members").get_by_role("row", name=employee.name)).to_be_visible()
    journey.look_at(page, "manager-team")

    page.get_by_test_id("nav-approvals").click()
    request = page.get_by_test_id("request")
    expect(request).to_have_count(1)
    expect(request).to_contain_text(f"{employee.name}: level 1 of {academy.pathway_id}")
    journey.look_at(page, "manager-approvals")
    journey.look_at(page, "manager-approvals-phone", phone=True)
    page.evaluate("window.notReloaded = true")
    request.get_by_label("Comment").fill("Well earned, congratulations!")
    request.get_by_role("button", name="Approve").click()
    decided = page.get_by_test_id("decided-request")
    expect(decided.get_by_role("status")).to_have_text("Request approved.")
    expect(decided.get_by_role("status")).to_be_focused()  # announced, and where the keyboard now is
    expect(page.get_by_test_id("no-approvals")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True  # swapped in place by htmx, not a new page
    journey.look_at(page, "manager-approved")
    page.context.close()


def hr_reads_the_figures(journey: Journey, page: Page, academy: Academy, pathway_name: str) -> None:
    """HR reads the overview, the analytics (with the issuer's pass rates swapped in) and the delivery log."""
    page.get_by_test_id("nav-overview").click()
    levels = page.get_by_test_id("overview-pathways").locator("table", has=page.locator("caption", has_text=pathway_name))
    expect(levels.get_by_role("row", name="Junior Analyst").get_by_role("cell")).to_have_text("1")
    journey.look_at(page, "hr-overview")

    page.get_by_test_id("nav-analytics").click()
    expect(page).to_have_url(f"{journey.origin}/pathways/analytics")
    expect(page.get_by_test_id("computed-at")).to_be_visible()
    expect(page.get_by_test_id("analytics-pass-rates")).to_contain_text("Attempts completed in the last")  # from the issuer
    journey.look_at(page, "hr-analytics")

    page.get_by_test_id("nav-deliveries").click()
    expect(page.get_by_role("heading", name="Delivery log")).to_be_visible()
    expect(page.get_by_role("cell", name=academy.employee.employee_id, exact=True).first).to_be_visible()
    journey.look_at(page, "hr-deliveries")
    page.context.close()
