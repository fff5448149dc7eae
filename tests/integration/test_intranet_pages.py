"""The intranet as a person uses it: one navigation across the services, the start page with the other
services' fragments, deciding in place, HR's badge preview, org chart import and bulk issuance, and
error pages that say what to do and never show a stack trace."""

import base64
import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from services.issuer.bulk_issuer import BulkIssuer
from shared.auth import ASSESSOR, HR_ADMIN
from shared.intranet import ACCOUNT, ASSESSORS, EVERYONE, HR_ADMINS
from tests.conftest import ROOT
from tests.integration.helpers import handle, problem, rows
from tests.integration.pathways_support import ISSUED, as_person, earn, handlers, org_chart, requests_of, seed_catalog
from tests.integration.test_issuer_api import complete, completion_data, credentials_of, define
from tests.integration.test_notifications_api import credential_issued, join_directory
from tests.integration.test_pathways_pages import csrf_token, signed_in
from tests.support import unique

pytestmark = pytest.mark.infra
HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
HTMX = {"HX-Request": "true"}


def nav_hrefs(page: str, label: str) -> list[str]:
    """The hrefs of one navigation landmark of a page."""
    found = re.search(rf'<nav aria-label="{label}".*?</nav>', page, re.S)
    return re.findall(r'href="([^"]+)"', found.group(0)) if found else []


def issued(issuer, employee_id: str, **definition) -> dict:
    """The employee passes a new credential's assessment; the stored credential row."""
    achievement = define(issuer, **definition)
    data = completion_data(achievement, employee_id=employee_id)
    complete(issuer, data, at=datetime.now(UTC))
    return next(row for row in credentials_of(issuer, employee_id) if row["achievement_id"] == achievement["id"])


# --- one navigation ---------------------------------------------------------------------


def test_an_employee_sees_every_area_by_its_gateway_path_and_the_current_page_marked(pathways, team):
    page = signed_in(pathways, team.employee, "Ada Lovelace").get("/").get_data(as_text=True)

    assert nav_hrefs(page, "Main") == ["/", "/issuer/wallet", "/notifications/inbox", "/team", "/approvals"]
    assert nav_hrefs(page, "Account") == ["/notifications/preferences"]
    assert 'href="/" data-testid="nav-pathway" aria-current="page"' in page
    assert 'hx-get="/notifications/inbox/unread"' in page  # the unread count, loaded from notifications
    assert "HR administration" not in page and "/issuer/catalog" not in page and "/issuer/assessments/record" not in page
    assert '<main id="main"' in page and 'class="skip-link" href="#main"' in page
    assert 'data-testid="sign-out"' in page and "Ada Lovelace" in page


def test_behind_the_gateway_links_within_a_service_carry_its_prefix(issuer, pathways, notifications):
    prefixed = {"issuer": (issuer, "/wallet"), "pathways": (pathways, "/"), "notifications": (notifications, "/inbox")}
    for service, (app, path) in prefixed.items():
        page = signed_in(app, unique("ada")).get(path, environ_overrides={"SCRIPT_NAME": f"/{service}"}).get_data(as_text=True)

        assert nav_hrefs(page, "Main") == ["/pathways/", "/issuer/wallet", "/notifications/inbox", "/pathways/team", "/pathways/approvals"]
        assert f'href="/{service}/assets/vendor/pico/pico.min.css"' in page and f'src="/{service}/assets/vendor/htmx/htmx.min.js"' in page
        assert f'action="/{service}/auth/logout"' in page


def test_an_intranet_below_a_path_prefixes_every_other_services_link(issuer, monkeypatch):
    monkeypatch.setitem(issuer.config, "INTRANET_URL", "https://intranet.example.com/skills/")

    page = signed_in(issuer, unique("ada")).get("/wallet").get_data(as_text=True)

    assert nav_hrefs(page, "Main") == ["/skills/pathways/", "/wallet", "/skills/notifications/inbox", "/skills/pathways/team",
                                       "/skills/pathways/approvals"]
    assert 'href="/wallet" data-testid="nav-wallet" aria-current="page"' in page


def test_hr_sees_hr_pages_and_an_assessor_the_assessment_form(issuer, notifications):
    hr_page = signed_in(issuer, unique("hr"), roles=(HR_ADMIN,)).get("/catalog/new").get_data(as_text=True)
    assessor_page = signed_in(notifications, unique("assessor"), roles=(ASSESSOR,)).get("/inbox").get_data(as_text=True)

    assert nav_hrefs(hr_page, "HR administration") == [
        "/catalog", "/bulk-issuances", "/pathways/designer", "/pathways/people/import", "/pathways/overview",
        "/pathways/analytics", "/notifications/deliveries"]
    assert 'href="/catalog" data-testid="nav-catalog" aria-current="true"' in hr_page  # a page below the catalog
    assert "/issuer/assessments/record" in nav_hrefs(assessor_page, "Main") and "HR administration" not in assessor_page


def test_every_navigation_link_is_a_page_its_service_serves(apps):
    for link in EVERYONE + ASSESSORS + HR_ADMINS + ACCOUNT:
        adapter = apps[link.service].url_map.bind("intranet.test")
        assert adapter.match(link.path, method="GET")[0] == link.endpoint, link


def test_a_signed_out_visitor_gets_no_navigation(issuer):
    credential = issued(issuer, unique("ada"))

    page = issuer.test_client().get(f"/credentials/{credential['id']}").get_data(as_text=True)

    assert '<nav aria-label="Main"' not in page and "Sign out" not in page and '<main id="main"' in page


def test_pages_carry_no_inline_script_style_or_event_handler_and_htmx_may_not_eval(apps, team):
    pathways = apps["pathways"]
    for achievement_id in team.level_one:
        earn(pathways, team.employee, achievement_id)
    pages = [
        signed_in(pathways, team.employee).get("/"), signed_in(pathways, team.manager).get("/approvals"),
        signed_in(pathways, unique("hr"), roles=(HR_ADMIN,)).get("/people/import"),
        signed_in(apps["issuer"], unique("hr"), roles=(HR_ADMIN,)).get("/catalog/new"),
        signed_in(apps["issuer"], unique("hr"), roles=(HR_ADMIN,)).get("/bulk-issuances"),
        signed_in(apps["notifications"], team.employee).get("/preferences"),
    ]
    for response in pages:
        page = response.get_data(as_text=True)
        assert response.status_code == 200, page[:500]
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), "an inline script"
        # Within tags only: other tests' hostile names (`onerror=`) show on these pages as escaped text.
        assert not re.search(r"<[^<>]*\son[a-z]+=", page), "an inline event handler"
        assert "<style" not in page and not re.search(r"<[^<>]*\sstyle=", page), "an inline style"
        config = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", page).group(1)
        assert '"allowEval": false' in config and '"allowScriptTags": false' in config and '"includeIndicatorStyles": false' in config


def test_the_design_system_is_served_from_the_service_with_its_licences(issuer):
    client = issuer.test_client()
    for path, kind in (("vendor/htmx/htmx.min.js", "javascript"), ("vendor/pico/pico.min.css", "text/css"),
                       ("skillstack.css", "text/css"), ("skillstack.js", "javascript")):
        response = client.get(f"/assets/{path}")
        assert response.status_code == 200 and kind in response.content_type, path
    vendor = ROOT / "shared" / "static" / "vendor"
    assert "MIT License" in (vendor / "pico" / "LICENSE.md").read_text()
    assert "Zero-Clause BSD" in (vendor / "htmx" / "LICENSE").read_text()
    readme = (vendor / "README.md").read_text()
    assert "2.1.1" in readme and "2.0.11" in readme
    script = (ROOT / "deploy" / "vendor.sh").read_text()
    assert "@picocss/pico|2.1.1|sha512-" in script and "htmx.org|2.0.11|sha512-" in script


# --- the start page and the fragments of the other services ------------------------------


def test_the_start_page_says_what_to_do_next_and_what_expires_and_is_complete_without_fragments(pathways, team):
    sql, python = team.level_one
    earn(pathways, team.employee, sql, at=datetime.now(UTC))
    soon = datetime.now(UTC) + timedelta(days=20)
    [expiring] = seed_catalog(pathways, f"Scrum {HOSTILE}")
    handle(pathways, handlers(), ISSUED, {  # a credential of two years ago, expiring in 20 days
        "credential_id": unique("credential"), "employee_id": team.employee, "achievement_id": expiring, "achievement_version": 1,
        "achievement_name": "Scrum", "issued_at": datetime.now(UTC) - timedelta(days=700), "valid_until": soon,
        "source_event_id": unique("completion")})

    page = signed_in(pathways, team.employee).get("/").get_data(as_text=True)

    next_step = re.search(r'data-testid="next-step">.*?</section>', page, re.S).group(0)
    assert "Earn <strong>Python Foundations</strong>: it counts towards Junior on the Data Analyst pathway" in next_step
    expiring_section = re.search(r'data-testid="expiring-soon">.*?</section>', page, re.S).group(0)
    assert f"<strong>Scrum {ESCAPED}</strong> expires on" in expiring_section and soon.date().isoformat() in expiring_section
    assert HOSTILE not in page
    # Progressive enhancement: the other services' cards load through the gateway; until then, plain links.
    assert 'hx-get="/issuer/wallet/summary"' in page and 'href="/issuer/wallet"' in page
    assert 'hx-get="/notifications/inbox/summary"' in page and 'href="/notifications/inbox"' in page
    assert page.count("data-optional-fragment") == 3  # both cards and the unread count keep their content if they fail


def test_with_every_credential_held_the_next_step_is_the_managers_decision(pathways, team):
    for achievement_id in team.level_one + team.level_two:
        earn(pathways, team.employee, achievement_id)

    page = signed_in(pathways, team.employee).get("/").get_data(as_text=True)

    next_step = re.search(r'data-testid="next-step">.*?</section>', page, re.S).group(0)
    assert "You have everything Junior on the Data Analyst pathway needs: your manager is reviewing your request." in next_step
    assert page.count("waiting for your manager's approval") == 1  # the ladder says it once (the browser test finds it there)


def test_someone_on_no_pathway_is_told_how_to_start(pathways):
    page = signed_in(pathways, unique("newcomer")).get("/").get_data(as_text=True)

    assert "You are not on a pathway yet" in page and "Pass an assessment in the academy" in page
    assert "None of your credentials expires in the next 60 days" in page


def test_the_wallet_fragment_shows_the_callers_own_badges_only(issuer):
    employee, colleague = unique("ada"), unique("grace")
    credential = issued(issuer, employee, name=f"Data {HOSTILE}")

    mine = signed_in(issuer, employee).get("/wallet/summary", headers=HTMX)
    theirs = signed_in(issuer, colleague).get("/wallet/summary", headers=HTMX).get_data(as_text=True)

    fragment = mine.get_data(as_text=True)
    assert mine.status_code == 200 and "<html" not in fragment and "<nav" not in fragment
    assert f'href="/wallet#credential-{credential["id"]}"' in fragment and f"Data {ESCAPED}" in fragment and HOSTILE not in fragment
    assert "1 valid" in fragment
    assert credential["id"] not in theirs and "No credentials yet" in theirs


def test_fragments_never_send_a_signed_out_visitor_to_sign_in(issuer, notifications):
    wallet = issuer.test_client().get("/wallet/summary", headers=HTMX)
    inbox = notifications.test_client().get("/inbox/summary", headers=HTMX)
    badge = notifications.test_client().get("/inbox/unread", headers=HTMX)

    assert (wallet.status_code, inbox.status_code, badge.status_code) == (200, 200, 200)
    assert 'href="/wallet"' in wallet.get_data(as_text=True) and 'href="/inbox"' in inbox.get_data(as_text=True)
    assert badge.get_data(as_text=True).strip() == ""


def test_the_inbox_fragments_show_the_callers_own_unread_messages(notifications):
    employee, colleague = unique("ada"), unique("grace")
    join_directory(notifications, employee, "Ada Lovelace")
    credential_issued(notifications, employee, achievement_name=f"SQL {HOSTILE}")

    summary = signed_in(notifications, employee).get("/inbox/summary", headers=HTMX).get_data(as_text=True)
    badge = signed_in(notifications, employee).get("/inbox/unread", headers=HTMX).get_data(as_text=True)
    theirs = signed_in(notifications, colleague).get("/inbox/summary", headers=HTMX).get_data(as_text=True)

    assert f"SQL {ESCAPED}" in summary and HOSTILE not in summary and "<html" not in summary
    assert re.search(r'data-testid="unread-count">1<span class="visually-hidden"> unread</span>', badge)
    assert "SQL" not in theirs and "Nothing here yet" in theirs
    assert signed_in(notifications, colleague).get("/inbox/unread").get_data(as_text=True).strip() == ""


# --- the public credential page ---------------------------------------------------------


def test_a_shared_credential_page_offers_linkedin_and_a_copy_button_and_its_styles_behind_the_gateway(issuer, monkeypatch):
    employee = unique("ada")
    credential = issued(issuer, employee)
    browser = signed_in(issuer, employee)
    token = csrf_token(browser.get("/wallet").get_data(as_text=True))
    assert browser.post(f"/wallet/{credential['id']}/sharing", data={"csrf_token": token, "public": "true"}).status_code == 302

    page = issuer.test_client().get(f"/credentials/{credential['id']}").get_data(as_text=True)

    assert 'data-testid="share"' in page and "linkedin.com/profile/add" in page
    assert 'data-copy-target="verification-link"' in page and "Verified:" in page
    assert 'href="/assets/skillstack.css"' in page
    # Behind the gateway the page is at the origin's root: its styles come under the issuer's prefix.
    monkeypatch.setitem(issuer.config, "BEHIND_PROXY", True)
    behind = issuer.test_client().get(f"/credentials/{credential['id']}").get_data(as_text=True)
    assert 'href="/issuer/assets/skillstack.css"' in behind and 'src="/issuer/assets/vendor/htmx/htmx.min.js"' in behind


# --- approvals in place -----------------------------------------------------------------


def open_request(pathways, team) -> dict:
    for achievement_id in team.level_one:
        earn(pathways, team.employee, achievement_id)
    [request] = requests_of(pathways, team.employee)
    return request


def test_a_manager_approves_in_place_and_sees_the_empty_queue(pathways, team):
    request = open_request(pathways, team)
    browser = signed_in(pathways, team.manager)
    page = browser.get("/approvals").get_data(as_text=True)
    assert f'hx-post="/approvals/{request["id"]}"' in page and f'hx-target="#request-{request["id"]}"' in page

    response = browser.post(f"/approvals/{request['id']}", headers=HTMX,
                            data={"csrf_token": csrf_token(page), "decision": "approve", "comment": "Bravo"})

    fragment = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in fragment
    assert f'id="request-{request["id"]}"' in fragment and '<p role="status" tabindex="-1" data-focus-after-swap>Request approved.</p>' in fragment
    assert "Ada Lovelace, level 1" in fragment and "Nothing to approve" in fragment
    assert requests_of(pathways, team.employee)[0]["status"] == "approved"


def test_an_in_place_decision_needs_the_csrf_token_and_the_right_manager(pathways, team):
    request = open_request(pathways, team)
    other = signed_in(pathways, team.other_manager)
    token = csrf_token(other.get("/approvals").get_data(as_text=True))

    forged = signed_in(pathways, team.manager).post(f"/approvals/{request['id']}", headers=HTMX, data={"decision": "reject"})
    refused = other.post(f"/approvals/{request['id']}", headers=HTMX, data={"csrf_token": token, "decision": "approve"})

    assert forged.status_code == 400 and "CSRF" in forged.get_data(as_text=True)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 403 and "direct manager" in body
    assert "<html" not in body and 'role="alert"' in body  # the error's card alone, swapped in place
    assert requests_of(pathways, team.employee)[0]["status"] == "open"


def test_the_team_and_approvals_pages_say_what_to_do_when_empty(pathways):
    loner = signed_in(pathways, unique("loner"))

    assert "Nobody reports to you" in loner.get("/team").get_data(as_text=True)
    assert "Nothing to approve" in loner.get("/approvals").get_data(as_text=True)


# --- the badge preview ------------------------------------------------------------------


def test_hr_sees_the_badge_redrawn_from_the_form_as_they_type(issuer):
    browser = signed_in(issuer, unique("hr"), roles=(HR_ADMIN,))
    page = browser.get("/catalog/new").get_data(as_text=True)
    assert 'hx-post="/catalog/preview"' in page and 'hx-include="#definition"' in page and '<form id="definition"' in page

    response = browser.post("/catalog/preview", headers=HTMX, data={
        "csrf_token": csrf_token(page), "name": f"Cloud {HOSTILE}", "colour": "#0b7a3e", "level": "Advanced"})

    fragment = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in fragment
    assert f'alt="The generated badge for Cloud {ESCAPED}"' in fragment
    svg = base64.b64decode(re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', fragment).group(1)).decode()
    assert "#0b7a3e" in svg and "<script" not in svg


def test_the_badge_preview_is_for_hr_with_a_csrf_token(issuer):
    hr = signed_in(issuer, unique("hr"), roles=(HR_ADMIN,))
    employee = signed_in(issuer, unique("ada"))
    token = csrf_token(employee.get("/wallet").get_data(as_text=True))

    assert hr.post("/catalog/preview", headers=HTMX, data={"name": "Cloud"}).status_code == 400
    assert employee.post("/catalog/preview", headers=HTMX, data={"csrf_token": token, "name": "Cloud"}).status_code == 403


# --- the org chart import ----------------------------------------------------------------


def chart_file(text: str) -> tuple:
    return (io.BytesIO(text.encode()), "chart.csv", "text/csv")


def test_hr_checks_the_org_chart_row_by_row_then_applies_it(pathways, team):
    browser = signed_in(pathways, unique("hr"), roles=(HR_ADMIN,))
    page = browser.get("/people/import").get_data(as_text=True)
    newcomer = unique("alan")
    chart = org_chart((newcomer, f"Alan {HOSTILE}", team.manager))

    checked = browser.post("/people/import/check", data={"csrf_token": csrf_token(page), "chart": chart_file(chart), "mode": "incremental"})

    report = checked.get_data(as_text=True)
    assert checked.status_code == 200 and "Dry run: the file is valid" in report
    assert "would add <strong>1</strong>" in report and f"<td>Alan {ESCAPED}</td>" in report and HOSTILE not in report
    assert rows(pathways, "SELECT * FROM people WHERE employee_id = :e", e=newcomer) == []  # nothing changed yet
    chart_field = unescape(re.search(r'name="chart" value="([^"]*)"', report).group(1))
    assert chart_field == chart

    applied = browser.post("/people/import/apply", data={"csrf_token": csrf_token(report), "chart": chart_field, "mode": "incremental"})

    assert applied.status_code == 302 and applied.headers["Location"] == "/people/import"
    assert rows(pathways, "SELECT name, manager_id FROM people WHERE employee_id = :e", e=newcomer) == [
        {"name": f"Alan {HOSTILE}", "manager_id": team.manager}]
    assert "The org chart is imported: 1 added" in browser.get("/people/import").get_data(as_text=True)


def test_a_chart_with_problems_is_reported_row_by_row_and_nothing_is_imported(pathways, team):
    browser = signed_in(pathways, unique("hr"), roles=(HR_ADMIN,))
    token = csrf_token(browser.get("/people/import").get_data(as_text=True))
    good, bad = unique("alan"), unique("bob")
    chart = org_chart((good, "Alan Turing", team.manager), (bad, f"Bob {HOSTILE}", unique("nobody")))

    checked = browser.post("/people/import/check", data={"csrf_token": token, "chart": chart_file(chart), "mode": "incremental"})
    applied = browser.post("/people/import/apply", data={"csrf_token": token, "chart": chart, "mode": "incremental"})

    report = checked.get_data(as_text=True)
    assert checked.status_code == 422 and "Nothing was imported" in report
    row_three = re.search(r"<th scope=\"row\">3</th>.*?</tr>", report, re.S).group(0)
    assert "manager_id: unknown manager" in unescape(row_three) and f"Bob {ESCAPED}" in row_three
    assert re.search(r"<th scope=\"row\">2</th>.*?OK</td>", report, re.S) and HOSTILE not in report
    assert applied.status_code == 422 and "unknown manager" in unescape(applied.get_data(as_text=True))
    assert rows(pathways, "SELECT * FROM people WHERE employee_id IN (:a, :b)", a=good, b=bad) == []


def test_the_org_chart_pages_are_for_hr_and_need_the_csrf_token(pathways, team):
    hr = signed_in(pathways, unique("hr"), roles=(HR_ADMIN,))
    employee = signed_in(pathways, team.employee)
    token = csrf_token(employee.get("/").get_data(as_text=True))
    chart = org_chart((unique("alan"), "Alan Turing", team.manager))

    assert employee.get("/people/import").status_code == 403
    assert employee.post("/people/import/check", data={"csrf_token": token, "chart": chart_file(chart)}).status_code == 403
    assert hr.post("/people/import/apply", data={"chart": chart}).status_code == 400
    assert hr.post("/people/import/check", data={"chart": chart_file(chart)}).status_code == 400


# --- bulk issuance -----------------------------------------------------------------------


def bulk_worker(issuer) -> BulkIssuer:
    return BulkIssuer(issuer.extensions["database"], lambda: datetime.now(UTC), source="/skillstack/issuer",
                      issuer=issuer.extensions["issuer_profile"], keys=issuer.extensions["signing_keys"], interval_seconds=1)


def test_hr_uploads_awards_reads_the_report_starts_and_follows_the_progress(issuer):
    achievement = define(issuer)
    employee, stranger = unique("ada"), f"{unique('x')}{HOSTILE}"
    awards = ("employee_id,email,credential,evidence_url,date\n"
              f"{employee},ada@example.com,{achievement['id']},,2026-01-31\n"
              f"{stranger},not-an-email,{achievement['id']},,2026-01-31\n")
    bulk_worker(issuer).issue_pending()  # jobs of other tests are settled first: the worker takes the oldest
    browser = signed_in(issuer, unique("hr"), roles=(HR_ADMIN,))
    token = csrf_token(browser.get("/bulk-issuances").get_data(as_text=True))

    uploaded = browser.post("/bulk-issuances", data={"csrf_token": token, "awards": (io.BytesIO(awards.encode()), "awards.csv", "text/csv")})

    assert uploaded.status_code == 302
    job_path = uploaded.headers["Location"]
    report = browser.get(job_path).get_data(as_text=True)
    assert "2 rows, <strong>1 valid</strong>" in report and "<strong>1 invalid</strong>" in report
    assert "email" in re.search(r'data-testid="bulk-problems">.*?</section>', report, re.S).group(0)
    assert ESCAPED in report and HOSTILE not in report
    assert f'hx-post="{job_path}/start"' in report and 'data-testid="start-bulk"' in report

    started = browser.post(f"{job_path}/start", headers=HTMX, data={"csrf_token": token})

    fragment = started.get_data(as_text=True)
    assert started.status_code == 200 and "<html" not in fragment
    assert f'hx-get="{job_path}/progress" hx-trigger="every 1s"' in fragment and 'id="start-form" hx-swap-oob="true"' in fragment
    bulk_worker(issuer).issue_pending()
    done = browser.get(f"{job_path}/progress", headers=HTMX).get_data(as_text=True)
    assert "Done: 1 credential issued" in done and "hx-trigger" not in done and 'value="100.0"' in done
    assert [row["achievement_id"] for row in credentials_of(issuer, employee)] == [achievement["id"]]


def test_a_bulk_issuance_is_started_by_a_plain_form_too_and_not_twice(issuer):
    achievement = define(issuer)
    awards = f"employee_id,email,credential,evidence_url,date\n{unique('ada')},ada@example.com,{achievement['id']},,2026-01-31\n"
    browser = signed_in(issuer, unique("hr"), roles=(HR_ADMIN,))
    token = csrf_token(browser.get("/bulk-issuances").get_data(as_text=True))
    job_path = browser.post("/bulk-issuances", data={"csrf_token": token, "awards": (io.BytesIO(awards.encode()), "a.csv")}).headers["Location"]

    first = browser.post(f"{job_path}/start", data={"csrf_token": token})
    again = browser.post(f"{job_path}/start", headers=HTMX, data={"csrf_token": token})

    assert first.status_code == 302 and first.headers["Location"] == job_path
    assert again.status_code == 409 and "<html" not in again.get_data(as_text=True) and "only a ready one can start" in again.get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in browser.get(job_path).get_data(as_text=True)  # issuing: the page polls its progress


def test_a_broken_awards_file_is_refused_with_what_to_fix_and_nothing_is_stored(issuer):
    browser = signed_in(issuer, unique("hr"), roles=(HR_ADMIN,))
    token = csrf_token(browser.get("/bulk-issuances").get_data(as_text=True))
    before = rows(issuer, "SELECT count(*) AS n FROM bulk_issuances")[0]["n"]

    response = browser.post("/bulk-issuances", data={"csrf_token": token, "awards": (io.BytesIO(b"name,colour\nAda,red\n"), "a.csv")})

    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "The file was not stored" in page and "unknown column" in page
    assert rows(issuer, "SELECT count(*) AS n FROM bulk_issuances")[0]["n"] == before


def test_bulk_issuance_pages_are_for_hr_and_need_the_csrf_token(issuer):
    hr = signed_in(issuer, unique("hr"), roles=(HR_ADMIN,))
    employee = signed_in(issuer, unique("ada"))
    token = csrf_token(employee.get("/wallet").get_data(as_text=True))
    awards = (io.BytesIO(b"employee_id,email,credential,evidence_url,date\n"), "a.csv")

    assert employee.get("/bulk-issuances").status_code == 403
    assert employee.post("/bulk-issuances", data={"csrf_token": token, "awards": awards}).status_code == 403
    assert hr.post("/bulk-issuances", data={"awards": (io.BytesIO(b"x"), "a.csv")}).status_code == 400
    assert hr.get(f"/bulk-issuances/{unique('missing')}").status_code == 404


# --- errors --------------------------------------------------------------------------------


def test_an_unexpected_error_shows_a_friendly_page_with_a_reference_never_a_traceback(pathways, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setitem(pathways.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setattr("services.pathways.progress.progress_of", broken)
    employee = unique("ada")

    page = signed_in(pathways, employee).get("/", headers={"X-Request-ID": "req-4711"})
    fragment = signed_in(pathways, employee).get("/", headers=HTMX)

    body = page.get_data(as_text=True)
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert "Something went wrong on our side" in body and "go to the start page" in body
    assert 'data-testid="request-id">req-4711<' in body
    assert "Traceback" not in body and "hunter2" not in body and "RuntimeError" not in body
    assert fragment.status_code == 500 and "<html" not in fragment.get_data(as_text=True)


def test_an_unexpected_error_in_the_api_is_problem_json_without_a_traceback(pathways, team, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setitem(pathways.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setattr("services.pathways.progress.progress_of", broken)

    response = pathways.test_client().get(f"/api/people/{team.employee}/progress", headers=as_person(team.employee))

    body = problem(response, 500)
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "hunter2" not in text and "RuntimeError" not in text
    assert body["title"] == "Internal Server Error" and response.headers.get("X-Request-ID")


def test_a_page_not_found_says_what_to_do(issuer):
    response = signed_in(issuer, unique("ada")).get(f"/bulk-issuances-typo/{unique('x')}")

    page = response.get_data(as_text=True)
    assert response.status_code == 404 and "go to the start page" in page and 'href="/pathways/"' in page


def test_an_htmx_request_after_the_session_ended_sends_the_whole_page_to_sign_in(notifications):
    headers = {"HX-Request": "true", "HX-Current-URL": "http://127.0.0.1:8000/notifications/preferences"}

    behind_gateway = notifications.test_client().get("/inbox", headers=headers, base_url="http://127.0.0.1:8000/notifications")
    plain = notifications.test_client().get("/inbox")

    assert behind_gateway.status_code == 204
    assert behind_gateway.headers["HX-Redirect"] == "/notifications/auth/login?next=/preferences"
    assert plain.status_code == 302 and "/auth/login" in plain.headers["Location"]
