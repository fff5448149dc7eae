"""Unsubscribe links: a signed token naming the person and the kind of email, good without signing in."""

from itsdangerous import BadSignature, URLSafeSerializer

from shared.errors import NotFound

SALT = "skillstack.notifications.unsubscribe"
EVERY_KIND = "*"


def unsubscribe_token(secret_key: str, employee_id: str, kind: str | None) -> str:
    """A token that stops one kind of email (or every kind, `None`) for one person; it does not expire,
    because an old email's link should still work."""
    return URLSafeSerializer(secret_key, salt=SALT).dumps([employee_id, kind or EVERY_KIND])


def read_unsubscribe_token(secret_key: str, token: str) -> tuple[str, str | None]:
    """The person and kind a token names; a forged or damaged token is not found."""
    try:
        employee_id, kind = URLSafeSerializer(secret_key, salt=SALT).loads(token)
    except (BadSignature, ValueError, TypeError) as error:
        raise NotFound("this unsubscribe link is not valid; choose your messages on the preferences page") from error
    return employee_id, None if kind == EVERY_KIND else kind
