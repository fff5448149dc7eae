"""Webhook delivery: posts to Slack- or Teams-compatible incoming webhooks, each carrying an
`X-Skillstack-Delivery` header so a resend after a crash is recognisable."""

from collections.abc import Callable
from datetime import datetime

import requests
from sqlalchemy import select

from services.notifications.delivery import DeliveryFailed, Dispatcher, RetryPolicy
from services.notifications.models import Delivery, Webhook
from services.notifications.preferences import WEBHOOK
from shared.db import Database


class WebhookDispatcher(Dispatcher):
    """Posts due webhook messages; a 5xx, 408, 429 or a network error is retried while it lasts, any other refusal is final."""

    channel = WEBHOOK
    RETRYABLE = {408, 429}

    def __init__(self, database: Database, policy: RetryPolicy, clock: Callable[[], datetime], timeout: float = 10.0):
        super().__init__(database, policy, clock)
        self.timeout = timeout
        self.http = requests.Session()

    def targets_of(self, session, due: list[Delivery]) -> dict:
        found = session.scalars(select(Webhook).where(Webhook.id.in_({delivery.webhook_id for delivery in due})))
        return {webhook.id: webhook.url for webhook in found}

    def send_batch(self, due: list[Delivery], urls: dict) -> int:
        sent = 0
        for delivery in due:
            try:
                self._post(delivery, urls.get(delivery.webhook_id))
            except DeliveryFailed as error:
                self.record(delivery.id, error)
                continue
            self.record(delivery.id, None)
            sent += 1
        return sent

    def _post(self, delivery: Delivery, url: str | None) -> None:
        if url is None:
            raise DeliveryFailed("the webhook was removed", permanent=True)
        headers = {"Content-Type": "application/json", "X-Skillstack-Delivery": delivery.id, "User-Agent": "Skillstack-Notifications"}
        try:
            response = self.http.post(url, data=delivery.html_body.encode(), headers=headers, timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as error:
            raise DeliveryFailed(f"{type(error).__name__}: {error}", transient=True) from error
        if response.status_code >= 300:
            retryable = response.status_code >= 500 or response.status_code in self.RETRYABLE
            raise DeliveryFailed(f"HTTP {response.status_code}: {response.text[:200]}", permanent=not retryable, transient=retryable)
