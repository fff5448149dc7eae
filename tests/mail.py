"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the tests."""

import email
import threading
from email.message import EmailMessage
from email.policy import default

from aiosmtpd.controller import Controller


class MailCatcher:
    """Start, stop and restart a loopback SMTP server; read the messages it received."""

    def __init__(self, port: int):
        self.port = port
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=default)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[EmailMessage]:
        """Messages received for an address."""
        with self._lock:
            return [message for message in self.messages if address in message["To"]]
