"""The employee's wallet page: their credentials, their status and downloads, and sharing each one."""

from collections import Counter

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from services.issuer import wallet
from shared.auth import current_principal, sign_in_required
from shared.errors import InvalidInput
from shared.intranet import fragment
from shared.web import database, now

bp = Blueprint("wallet", __name__, template_folder="templates")
SHARING_CHOICES = {"true": True, "false": False}  # the form's `public` field
SUMMARY_BADGES = 6  # the newest valid badges the start page shows


@bp.get("/wallet")
@sign_in_required()
def my_wallet():
    """The signed-in employee's credentials, newest first."""
    with database().transaction() as session:
        entries = wallet.wallet_of(
            session, current_principal().subject, issuer=current_app.extensions["issuer_profile"], now=now()
        )
    return render_template("issuer/wallet.html", entries=entries)


@bp.get("/wallet/summary")
@fragment("issuer/_wallet_summary.html")
def wallet_summary(principal):
    """The start page's credentials card (an htmx fragment): counts by status and the newest badges."""
    with database().transaction() as session:
        entries = wallet.wallet_of(session, principal.subject, issuer=current_app.extensions["issuer_profile"], now=now())
    counts = Counter(entry.status for entry in entries)
    newest = [entry for entry in entries if entry.status == "valid"][:SUMMARY_BADGES]
    return render_template("issuer/_wallet_summary.html", signed_in=True, counts=counts, newest=newest, total=len(entries))


@bp.post("/wallet/<credential_id>/sharing")
@sign_in_required()
def share(credential_id):
    """Share one of the signed-in employee's credentials publicly, or stop sharing it."""
    public = SHARING_CHOICES.get(request.form.get("public", ""))
    if public is None:
        raise InvalidInput("choose to share the credential (public=true) or not (public=false)")
    with database().transaction() as session:
        wallet.set_sharing(session, credential_id, holder_id=current_principal().subject, public=public)
    if public:
        flash("Shared: anyone with the link sees your name on the credential's page.")
    else:
        flash("No longer shared: the credential's page no longer shows your name.")
    return redirect(url_for(".my_wallet", _anchor=f"credential-{credential_id}"))
