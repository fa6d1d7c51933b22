"""Outgoing email: the SMTP server, from the configuration or Settings → Email, and sending.

The server is one URL: smtp://user:password@host:587?starttls=1 (STARTTLS after connecting),
smtps://user:password@host:465 (TLS from the start) or smtp://host:25 (neither). The
configuration's CRM_SMTP_URL wins over what an administrator saved; so does CRM_MAIL_FROM.
Python's own smtplib sends, one connection kept open for a whole pass of notifications.
"""

import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import parse_qs, quote, unquote, urlsplit

from flask import current_app

from crm import app_settings

URL_SETTING = "smtp_url"
FROM_SETTING = "mail_from"
SCHEMES = {"smtp": 25, "smtps": 465}
TRUE = {"1", "true", "yes", "on"}


class MailError(Exception):
    """Email cannot be sent: not set up, or the server refused; the text says why."""


class NotSetUp(MailError):
    pass


@dataclass(frozen=True)
class Server:
    """Where mail goes: host and port, the kind of TLS, and the account, if any."""

    host: str
    port: int
    security: str  # "tls" (smtps), "starttls" or "none"
    username: str = ""
    password: str = ""

    @property
    def url(self):
        scheme = "smtps" if self.security == "tls" else "smtp"
        account = ""
        if self.username:
            account = quote(self.username, safe="")
            if self.password:
                account += ":" + quote(self.password, safe="")
            account += "@"
        query = "?starttls=1" if self.security == "starttls" else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{account}{host}:{self.port}{query}"

    @property
    def shown(self):
        """The URL as a page may show it: the password hidden."""
        return Server(self.host, self.port, self.security, self.username, "").url + (
            "" if not self.password else "  (password set)"
        )


def parse_url(text):
    """A Server from an SMTP URL; ValueError saying what is wrong."""
    parts = urlsplit((text or "").strip())
    if parts.scheme not in SCHEMES:
        raise ValueError("the address must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("the address names no server")
    try:
        port = parts.port or SCHEMES[parts.scheme]
    except ValueError as error:
        raise ValueError("the port is not a number from 1 to 65535") from error
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if parts.scheme == "smtps":
        security = "tls"
    elif options.get("starttls", "").lower() in TRUE:
        security = "starttls"
    else:
        security = "none"
    return Server(
        parts.hostname,
        port,
        security,
        unquote(parts.username or ""),
        unquote(parts.password or ""),
    )


def configured_url():
    return current_app.config.get("SMTP_URL") or None


def server():
    """The server to send through: the configuration's, else the one saved in Settings; None
    when neither is set."""
    text = configured_url() or app_settings.value(URL_SETTING)
    if not text:
        return None
    try:
        return parse_url(text)
    except ValueError:
        return None


def sender_address():
    """Who messages come from: CRM_MAIL_FROM, else the one saved in Settings, else the
    server's account name when it is an address."""
    found = current_app.config.get("MAIL_FROM") or app_settings.value(FROM_SETTING)
    if found:
        return found
    found = server()
    if found and "@" in found.username:
        return found.username
    return None


def is_set_up():
    return server() is not None and sender_address() is not None


# Sending


def message(to, subject, text, html=None, sender=None, headers=None):
    """A message with a plain text part and, if given, an HTML alternative."""
    mail = EmailMessage()
    mail["Subject"] = subject
    mail["From"] = sender or sender_address()
    mail["To"] = to
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = make_msgid(domain=domain_of(mail["From"]))
    # RFC 3834: a machine wrote it, so auto-replies ("I am on holiday") are not sent back.
    mail["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(text)
    if html:
        mail.add_alternative(html, subtype="html")
    return mail


def domain_of(address_header):
    try:
        return address_header.addresses[0].domain or None
    except (AttributeError, IndexError):
        return None


class Connection:
    """An open connection to the server, for as many messages as a pass has."""

    def __init__(self, found=None, timeout=None):
        self.server = found or server()
        if self.server is None:
            raise NotSetUp("no SMTP server is set up")
        self.timeout = timeout or current_app.config["SMTP_TIMEOUT_SECONDS"]
        self.smtp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def open(self):
        found = self.server
        context = ssl.create_default_context()
        if found.security == "tls":
            smtp = smtplib.SMTP_SSL(found.host, found.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(found.host, found.port, timeout=self.timeout)
        try:
            smtp.ehlo_or_helo_if_needed()
            if found.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if found.username:
                smtp.login(found.username, found.password)
        except BaseException:
            smtp.close()
            raise
        self.smtp = smtp

    def close(self):
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None

    def send(self, mail):
        """Send one message; the server's answer to it ("250 2.0.0 Ok: queued as …").

        Spelt out as MAIL, RCPT and DATA (smtplib's public commands) rather than
        `send_message`, which keeps that answer to itself. A connection the server closed
        meanwhile is opened again once.
        """
        if self.smtp is None:
            self.open()
        try:
            return self._send(mail)
        except smtplib.SMTPServerDisconnected:
            self.smtp = None
            self.open()
            return self._send(mail)

    def _send(self, mail):
        smtp = self.smtp
        sender = mail["From"].addresses[0].addr_spec
        recipients = [address.addr_spec for address in mail["To"].addresses]
        code, answer = smtp.mail(sender)
        if code != 250:
            smtp.rset()
            raise smtplib.SMTPSenderRefused(code, answer, sender)
        for recipient in recipients:
            code, answer = smtp.rcpt(recipient)
            if code not in (250, 251):
                smtp.rset()
                raise smtplib.SMTPRecipientsRefused({recipient: (code, answer)})
        # smtplib leaves bytes as they are: the lines must end in CRLF already.
        code, answer = smtp.data(mail.as_bytes(policy=policy.SMTP))
        if code != 250:
            smtp.rset()
            raise smtplib.SMTPDataError(code, answer)
        return f"{code} {answer.decode('utf-8', 'replace')}"


def address(name, email):
    """ "Name <email>" as a header takes it, the name encoded when it is not ASCII."""
    try:
        return str(Address(display_name=name or "", addr_spec=email))
    except (ValueError, IndexError):
        return email


def describe_error(error):
    """What went wrong, as an administrator reads it: the server's code and words."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{recipient}: {code} {text.decode('utf-8', 'replace')}"
            for recipient, (code, text) in error.recipients.items()
        )
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return f"{error.smtp_code} {text}"
    if isinstance(error, TimeoutError):
        return f"no answer within the time allowed ({error})"
    return f"{type(error).__name__}: {error}"


def permanent(error):
    """A refusal that trying again will not change: the server's 5xx to the sender or the
    recipient, or a wrong password."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _text in error.recipients.values())
    if isinstance(
        error,
        smtplib.SMTPAuthenticationError | smtplib.SMTPSenderRefused | smtplib.SMTPDataError,
    ):
        return error.smtp_code >= 500
    return isinstance(error, NotSetUp)


def about_the_message(error):
    """Whether the server refused this message (its sender, a recipient, its content) rather
    than being out of reach: the next message may still go."""
    return isinstance(
        error,
        smtplib.SMTPRecipientsRefused | smtplib.SMTPSenderRefused | smtplib.SMTPDataError,
    )
