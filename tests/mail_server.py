"""A real SMTP server for the tests (aiosmtpd), on a free port of this machine, keeping what it
is sent; it can be told to refuse messages for a while."""

import email
import email.policy
import socket
import threading

from aiosmtpd.controller import Controller


class Collecting:
    """aiosmtpd's handler: keeps each message, or answers `refuse` (an SMTP reply) instead."""

    def __init__(self):
        self.messages = []
        self.refuse = None
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return self.refuse
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 2.0.0 Ok: queued as TEST"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MailServer:
    def __init__(self):
        self.handler = Collecting()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self):
        with self.handler.lock:
            return list(self.handler.messages)

    def to(self, address):
        return [m for m in self.messages if address in m["To"]]

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        if self.controller.loop.is_running():
            self.controller.stop()


def text_of(message):
    """The plain text part, its lines ended by "\n" and Babel's narrow spaces ("10:00 AM")
    plain."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    return text.replace("\r\n", "\n").replace("\u202f", " ")


def html_of(message):
    return message.get_body(preferencelist=("html",)).get_content()
