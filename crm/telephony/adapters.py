"""Each provider's module: `read(connection, delivery)` checks its signature and turns its
request into CallEvents (a Reading, with the answer the provider expects); `answer(calls)` and
`refusal(status, message, field)`, where it has them, say what it gets back."""

from crm.models import PhoneProvider
from crm.telephony import generic, zadarma

MODULES = {PhoneProvider.GENERIC: generic, PhoneProvider.ZADARMA: zadarma}


def of(provider):
    return MODULES.get(provider, generic)
