"""Each provider's module: `read(connection, delivery)` checks its signature and turns its
request into CallEvents (a Reading, with the answer the provider expects); `answer(calls)` and
`refusal(status, message, field)`, where it has them, say what it gets back. A module with
`TAKES_PATHS` is answered at paths below the connection's address too."""

from crm.models import PhoneProvider
from crm.telephony import generic, mango, sipuni, zadarma

MODULES = {
    PhoneProvider.GENERIC: generic,
    PhoneProvider.ZADARMA: zadarma,
    PhoneProvider.MANGO: mango,
    PhoneProvider.SIPUNI: sipuni,
}


def of(provider):
    return MODULES.get(provider, generic)


def takes_paths(adapter):
    return getattr(adapter, "TAKES_PATHS", False)
