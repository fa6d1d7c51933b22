"""Sample data for a demo install: about 60 leads with their contact history over 90 days.

The leads are made up from the texts in TEXTS at the end of this module, in English or Russian.
They are sample content, not interface strings, so they stay here as data instead of going
through gettext.
"""

import random
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import insert, select, update

from crm.extensions import db
from crm.funnel import search_text
from crm.models import (
    Activity,
    ActivityKind,
    Counter,
    Lead,
    LostReason,
    Stage,
    StageChange,
    StageKind,
    utcnow,
)

# A fixed seed gives every demo the same leads and texts; only the dates follow the install day.
SEED = 2024

OPEN_LEADS = 47
WON_LEADS = 6
LOST_LEADS = 7

# The oldest lead came in this many days ago, so the whole history fits in the last 90 days.
HISTORY_DAYS = 89

# Contacts happen in office hours, given in UTC: 10:00-19:55 in Moscow, 07:00-16:55 in London
# (an hour later in summer).
WORK_HOURS = range(7, 17)

# Until an estimate has been made ("Estimate made", the fourth open stage), the value is usually
# unknown.
ESTIMATE_MADE = 3
UNKNOWN_VALUE_SHARE = 0.7

# When an open lead's next step is due; closed (won or lost) leads have none.
OVERDUE = "overdue"
TODAY = "today"
LATER = "later"
NO_NEXT_STEP = "no next step"
CLOSED = "closed"

# How many days ago each kind of lead was last contacted: a lead whose call is overdue has been
# quiet for a while, a forgotten one (no next step) longer still.
QUIET_DAYS = {
    OVERDUE: (3, 12),
    TODAY: (1, 7),
    LATER: (0, 6),
    NO_NEXT_STEP: (4, 45),
    CLOSED: (0, 45),
}


def fill(language, owner, seed=SEED):
    """Add about 60 leads owned by `owner`, with their contact history over the last 90 days.

    Expects the default funnel (crm.funnel_defaults.install). Flushes but never commits: the
    caller commits together with the rest of the setup.
    """
    db.session.flush()  # so that a freshly added owner has an id
    # Not for security: a seeded generator makes the demo the same on every install.
    rng = random.Random(seed)  # noqa: S311
    now = utcnow().replace(second=0, microsecond=0)
    storyteller = Storyteller(rng, TEXTS[language], Funnel.load(), now)
    stories = sorted(storyteller.stories(), key=lambda story: story.created_at)
    save(stories, owner.id)


@dataclass
class Funnel:
    """The ids the sample refers to: open stages in funnel order, activity kinds, lost reasons."""

    open: list[int]
    won: int
    lost: int
    kinds: dict[str, int]
    reasons: list[int]

    @classmethod
    def load(cls):
        """Read the funnel, the activity kinds by code and the active lost reasons in order."""
        stages = db.session.scalars(Stage.in_funnel_order()).all()
        kinds = db.session.execute(select(ActivityKind.code, ActivityKind.id)).all()
        reasons = db.session.scalars(
            select(LostReason.id)
            .where(LostReason.active)
            .order_by(LostReason.position, LostReason.id)
        ).all()
        return cls(
            open=[stage.id for stage in stages if stage.kind == StageKind.OPEN],
            won=next(stage.id for stage in stages if stage.kind == StageKind.WON),
            lost=next(stage.id for stage in stages if stage.kind == StageKind.LOST),
            kinds=dict(kinds),
            reasons=list(reasons),
        )


@dataclass
class Contact:
    """One entry of a lead's contact log; `stage_id` is set when the contact moved the lead."""

    at: datetime
    kind_id: int
    body: str
    stage_id: int | None
    activity_id: int | None = None


@dataclass
class Story:
    """One sample lead: its fields, the stage it entered the funnel at and its contact log."""

    lead: dict
    entered_stage_id: int
    contacts: list[Contact]

    @property
    def created_at(self):
        return self.lead["created_at"]


class Storyteller:
    """Makes up the sample leads and their histories, all from one seeded random generator."""

    def __init__(self, rng, texts, funnel, now):
        self.rng = rng
        self.texts = texts
        self.funnel = funnel
        self.now = now
        self.phones_given = set()

    def stories(self):
        """One story per lead, each with its own company and contact person."""
        finals = self.final_stages()
        open_count = sum(1 for stage_id in finals if stage_id in self.funnel.open)
        plans = iter(self.next_step_plans(open_count))
        companies = self.rng.sample(self.texts["companies"], len(self.texts["companies"]))
        people = self.rng.sample(self.people(), len(finals))
        return [
            self.story(
                stage_id,
                next(plans) if stage_id in self.funnel.open else CLOSED,
                companies[index % len(companies)],
                people[index],
            )
            for index, stage_id in enumerate(finals)
        ]

    def final_stages(self):
        """Where each lead stands now, shuffled: most early in the funnel, a few won or lost."""
        # The first open stage gets the most leads and each later one fewer, as in a real funnel.
        weights = range(len(self.funnel.open), 0, -1)
        finals = []
        for stage_id, weight in zip(self.funnel.open, weights, strict=True):
            finals += [stage_id] * max(1, round(OPEN_LEADS * weight / sum(weights)))
        finals += [self.funnel.won] * WON_LEADS + [self.funnel.lost] * LOST_LEADS
        self.rng.shuffle(finals)
        return finals

    def next_step_plans(self, count):
        """When each open lead's next step is due: every case the agenda shows is there."""
        plans = [OVERDUE] * 8 + [TODAY] * 6 + [NO_NEXT_STEP] * 7
        plans += [LATER] * max(0, count - len(plans))
        self.rng.shuffle(plans)
        return plans

    def people(self):
        """Every first-and-last-name pair; in Russian the surname agrees with the first name."""
        return [
            (first, last)
            for first_names, last_names in self.texts["people"]
            for first in first_names.split()
            for last in last_names.split()
        ]

    def story(self, final_stage_id, plan, company, person):
        """One lead, from the day it came in to where it stands now."""
        path = self.path_to(final_stage_id)
        reason = self.lost_reason(final_stage_id)
        quiet_days = self.rng.randint(*QUIET_DAYS[plan])
        moves = self.contact_plan(path)
        created_day, contact_days = self.calendar(len(moves), quiet_days)
        contacts = self.contact_log(moves, contact_days, reason)
        created_at = self.past_time(created_day)
        next_step_at, next_step_note = self.next_step(plan, final_stage_id, quiet_days)
        lead = {
            "title": company[0],
            **self.contact_details(person, company[1]),
            "source": self.source(entered_cold=path[0] == self.funnel.open[0]),
            "stage_id": final_stage_id,
            "value": self.value(path),
            "next_step_at": next_step_at,
            "next_step_note": next_step_note,
            "lost_reason_id": None if reason is None else self.funnel.reasons[reason],
            "created_at": created_at,
            "updated_at": contacts[-1].at if contacts else created_at,
        }
        return Story(lead, path[0], contacts)

    def path_to(self, final_stage_id):
        """The stages a lead went through, always forward, from where it came in to the last."""
        last_open = len(self.funnel.open) - 1
        if final_stage_id == self.funnel.won:
            reached = last_open
        elif final_stage_id == self.funnel.lost:
            # The smaller of two draws: most leads are lost early in the funnel.
            reached = min(self.rng.randint(0, last_open), self.rng.randint(0, last_open))
        else:
            reached = self.funnel.open.index(final_stage_id)
        # Most leads come in cold; a request from the website may start further down.
        position = min(reached, self.rng.choice((0, 0, 0, 0, 1, 1, 2)))
        path = [self.funnel.open[position]]
        while position < reached:
            # Now and then a lead skips a stage, as when the estimate is agreed on the spot.
            position = min(reached, position + self.rng.choice((1, 1, 1, 2)))
            path.append(self.funnel.open[position])
        if final_stage_id not in self.funnel.open:
            path.append(final_stage_id)
        return path

    def lost_reason(self, final_stage_id):
        """The index of a lost lead's reason among the active reasons; None for the others."""
        if final_stage_id != self.funnel.lost or not self.funnel.reasons:
            return None
        return self.rng.randrange(len(self.funnel.reasons))

    def contact_plan(self, path):
        """The stage each contact moved the lead to, in order; None where it did not move it."""
        moves = path[1:]
        # A won or lost lead is closed by its last contact: nobody calls after that.
        closing = [moves.pop()] if path[-1] in (self.funnel.won, self.funnel.lost) else []
        plan = [None] * (len(moves) + self.rng.choice((0, 1, 1, 2, 2, 3)))
        places = sorted(self.rng.sample(range(len(plan)), len(moves)))
        for place, stage_id in zip(places, moves, strict=True):
            plan[place] = stage_id
        return plan + closing

    def calendar(self, count, quiet_days):
        """How many days ago the lead came in and each of `count` contacts happened, oldest first.

        Each contact falls on its own day after the lead came in; the last one `quiet_days` ago.
        """
        if count == 0:
            return quiet_days, []
        created_day = min(HISTORY_DAYS, quiet_days + count * self.rng.randint(2, 6))
        earlier = self.rng.sample(range(quiet_days + 1, created_day), count - 1)
        return created_day, sorted(earlier, reverse=True) + [quiet_days]

    def contact_log(self, moves, days_ago, reason):
        """The contact log entries, one per planned contact, with a text that fits each."""
        used = set()
        log = []
        for stage_id, day in zip(moves, days_ago, strict=True):
            kind, body = self.contact_text(stage_id, reason, used)
            used.add(body)
            log.append(Contact(self.past_time(day), self.funnel.kinds[kind], body, stage_id))
        return log

    def contact_text(self, stage_id, reason, used):
        """Kind and body of a contact that moved the lead to `stage_id` (None: it did not)."""
        if stage_id is None:
            options = self.texts["follow_ups"]
        elif stage_id == self.funnel.won:
            options = self.texts["won"]
        elif stage_id == self.funnel.lost:
            by_reason = self.texts["lost"]
            options = by_reason[reason] if reason < len(by_reason) else self.texts["lost_other"]
        else:
            # `moved_to` starts at the second open stage: no contact moves a lead into the first.
            moved_to = self.texts["moved_to"]
            options = moved_to[min(self.funnel.open.index(stage_id), len(moved_to)) - 1]
        # The same lead does not get the same note twice while there are others to choose from.
        fresh = [option for option in options if option[1] not in used]
        return self.rng.choice(fresh or options)

    def next_step(self, plan, stage_id, quiet_days):
        """When the next contact is due and what it is for; none for closed or forgotten leads."""
        if plan == OVERDUE:
            # Set at the last contact, so due between that day and yesterday.
            at = self.work_time(self.rng.randint(1, quiet_days - 1))
        elif plan == TODAY:
            at = self.later_today()
        elif plan == LATER:
            at = self.work_time(-self.rng.randint(1, 14))
        else:
            return None, None
        notes = self.texts["next_steps"]
        stage_notes = notes[min(self.funnel.open.index(stage_id), len(notes) - 1)]
        return at, self.rng.choice(stage_notes)

    def contact_details(self, person, domain):
        """Name, phone and email of the person we talk to; a few have no phone or no email."""
        first, last = person
        phone = self.phone()
        email = self.email(first, last, domain)
        if self.rng.random() < 0.1:
            phone = None
        elif self.rng.random() < 0.1:
            email = None
        return {
            "contact_name": f"{first} {last}",
            "phone": phone,
            "phone_digits": re.sub(r"\D", "", phone) if phone else None,
            "email": email,
        }

    def phone(self):
        """A made-up number, written in one of the ways people write them, not given before."""
        while True:
            pattern = self.rng.choice(self.texts["phones"])
            phone = "".join(str(self.rng.randrange(10)) if ch == "#" else ch for ch in pattern)
            # The last nine digits tell a number whatever prefix it is written with, so the
            # duplicate check never matches two sample leads.
            number = re.sub(r"\D", "", phone)[-9:]
            if number not in self.phones_given:
                self.phones_given.add(number)
                return phone

    def email(self, first, last, domain):
        """A work address at the company's domain or, for some, a personal one."""
        first, last = latin(first), latin(last)
        if domain is None or self.rng.random() < 0.15:
            mailbox = self.rng.choice(self.texts["free_mail"])
            return f"{first}.{last}{self.rng.randint(70, 99)}@{mailbox}"
        name = self.rng.choice((f"{first}.{last}", f"{first[0]}.{last}", first, "info", "office"))
        return f"{name}@{domain}"

    def source(self, entered_cold):
        """Where the lead came from: cold ones mostly from our own calls, warm ones asked us."""
        if entered_cold:
            codes = ("cold_call", "cold_call", "exhibition", "newsletter", "website")
        else:
            codes = ("website", "website", "referral", "referral", "partner", "exhibition")
        return self.texts["sources"][self.rng.choice(codes)]

    def value(self, path):
        """The deal's value; usually unknown (None) until an estimate has been made."""
        reached = max(self.funnel.open.index(s) for s in path if s in self.funnel.open)
        closed = path[-1] in (self.funnel.won, self.funnel.lost)
        if reached < ESTIMATE_MADE and not closed and self.rng.random() < UNKNOWN_VALUE_SHARE:
            return None
        low, high, step = self.texts["value"]
        return Decimal(self.rng.randrange(low, high, step))

    def work_time(self, days_ago):
        """A time in office hours `days_ago` days ago (negative: in the future)."""
        day = (self.now - timedelta(days=days_ago)).date()
        return datetime.combine(
            day, time(self.rng.choice(WORK_HOURS), self.rng.randrange(0, 60, 5))
        )

    def past_time(self, days_ago):
        """Like work_time, but never later than a little before now."""
        moment = self.work_time(days_ago)
        return min(moment, self.now - timedelta(minutes=self.rng.randrange(5, 90, 5)))

    def later_today(self):
        """A time later today, so the step shows as due today rather than overdue."""
        soon = self.now + timedelta(minutes=self.rng.randrange(10, 120, 5))
        end_of_day = datetime.combine(self.now.date(), time(23, 59))
        return min(max(self.work_time(0), soon), end_of_day)


def latin(name):
    """A name as it is written in an email address: lower case, Cyrillic transliterated."""
    return name.lower().translate(TRANSLITERATION)


# The ORM leaves None values out of a bulk insert, which splits the rows into one statement per
# pattern of empty fields; sending them as NULL keeps each insert a single batch.
ONE_BATCH = {"render_nulls": True}


def save(stories, owner_id):
    """Insert the leads, their contact logs and stage changes, each kind in one bulk insert."""
    first_number = Counter.take("lead", len(stories))
    lead_ids = insert_leads(stories, first_number, owner_id)
    insert_activities(stories, lead_ids, owner_id)
    insert_stage_changes(stories, lead_ids, owner_id)
    note_last_contacts(stories, lead_ids)


def insert_leads(stories, first_number, owner_id):
    """Insert the leads, numbered in the order they came in; return their ids in that order."""
    rows = []
    for index, story in enumerate(stories):
        number = first_number + index
        moves = [contact.at for contact in story.contacts if contact.stage_id is not None]
        lead = story.lead
        rows.append(
            {
                **lead,
                "number": number,
                "owner_id": owner_id,
                "created_by_id": owner_id,
                "archived": False,
                "stage_changed_at": max(moves, default=story.created_at),
                "search_text": search_text(
                    number, lead["title"], lead.get("contact_name"), lead.get("email")
                ),
            }
        )
    statement = insert(Lead).returning(Lead.id, sort_by_parameter_order=True)
    return db.session.scalars(statement, rows, execution_options=ONE_BATCH).all()


def insert_activities(stories, lead_ids, owner_id):
    """Insert every contact as an activity and note its id on the contact."""
    log = [
        (lead_id, contact)
        for story, lead_id in zip(stories, lead_ids, strict=True)
        for contact in story.contacts
    ]
    rows = [
        {
            "lead_id": lead_id,
            "author_id": owner_id,
            "kind_id": contact.kind_id,
            "occurred_at": contact.at,
            "body": contact.body,
            "stage_after_id": contact.stage_id,
            "created_at": contact.at,
        }
        for lead_id, contact in log
    ]
    statement = insert(Activity).returning(Activity.id, sort_by_parameter_order=True)
    activity_ids = db.session.scalars(statement, rows, execution_options=ONE_BATCH).all()
    for (_lead_id, contact), activity_id in zip(log, activity_ids, strict=True):
        contact.activity_id = activity_id


def note_last_contacts(stories, lead_ids):
    """Store each lead's newest contact on the lead, as logging a contact does."""
    rows = [
        {"id": lead_id, "last_activity_id": last.activity_id, "last_activity_at": last.at}
        for story, lead_id in zip(stories, lead_ids, strict=True)
        if story.contacts
        for last in [max(story.contacts, key=lambda contact: contact.at)]
    ]
    if rows:
        db.session.execute(update(Lead), rows)


def insert_stage_changes(stories, lead_ids, owner_id):
    """Insert every lead's stage history."""
    rows = []
    for story, lead_id in zip(stories, lead_ids, strict=True):
        rows += stage_history(story, lead_id, owner_id)
    db.session.execute(insert(StageChange), rows, execution_options=ONE_BATCH)


def stage_history(story, lead_id, owner_id):
    """The lead's entry into the funnel, then each move, tied to the contact that made it."""
    entry = {
        "lead_id": lead_id,
        "from_stage_id": None,
        "to_stage_id": story.entered_stage_id,
        "changed_at": story.created_at,
        "changed_by_id": owner_id,
        "activity_id": None,
    }
    history = [entry]
    for contact in story.contacts:
        if contact.stage_id is not None:
            move = {
                "from_stage_id": history[-1]["to_stage_id"],
                "to_stage_id": contact.stage_id,
                "changed_at": contact.at,
                "activity_id": contact.activity_id,
            }
            history.append(entry | move)
    return history


# Cyrillic letters as written in email addresses; the hard and soft signs are dropped.
CYRILLIC_IN_LATIN = (
    "а=a б=b в=v г=g д=d е=e ё=e ж=zh з=z и=i й=y к=k л=l м=m н=n о=o п=p р=r с=s т=t у=u "
    "ф=f х=kh ц=ts ч=ch ш=sh щ=shch ъ= ы=y ь= э=e ю=yu я=ya"
)
TRANSLITERATION = str.maketrans(dict(pair.split("=") for pair in CYRILLIC_IN_LATIN.split()))


# The sample texts. `companies` are (title, email domain or None for no website); `people` are
# (first names, last names) groups whose every pair makes a contact. `moved_to` holds, for the
# second, third ... open stage, what a contact that moved the lead there was about; `lost` is in
# the order of the default lost reasons; each `next_steps` entry belongs to the open stage at the
# same place. Phone patterns use "#" for a made-up digit; the English ones are in the ranges set
# aside for drama (Ofcom's 020 7946 0xxx and 07700 900xxx, the North American 555-01xx).
TEXTS = {
    "en": {
        "companies": [
            ("Northwind Logistics Ltd", "northwindlogistics.co.uk"),
            ("Bluebell Bakery", "bluebellbakery.co.uk"),
            ("Harbour & Finch Solicitors", "harbourfinch.co.uk"),
            ("Greenfield Dental Clinic", "greenfielddental.co.uk"),
            ("Apex Building Supplies", "apexbuildingsupplies.com"),
            ("Riverside Veterinary Practice", "riversidevets.co.uk"),
            ("Meridian Travel", "meridiantravel.com"),
            ("Copperleaf Interiors", "copperleaf.design"),
            ("Atlas Freight Forwarding", "atlasfreight.com"),
            ("Oakridge Property Management", "oakridgeproperty.com"),
            ("Silverline Fitness", "silverlinefitness.com"),
            ("Kestrel Engineering", "kestreleng.co.uk"),
            ("Brightside Solar", "brightsidesolar.com"),
            ("Hollow Oak Brewery", "hollowoakbrewery.com"),
            ("Cedar Lane Furniture", "cedarlanefurniture.com"),
            ("Pinnacle Recruitment", "pinnaclerecruit.co.uk"),
            ("Lumen Optics", "lumenoptics.com"),
            ("Fairway Car Rentals", "fairwaycars.com"),
            ("Willow & Stone Landscaping", "willowstone.co.uk"),
            ("Redwood Printing Co.", "redwoodprint.com"),
            ("Marlow Accounting Services", "marlowaccounts.co.uk"),
            ("Sterling Pet Supplies", "sterlingpets.com"),
            ("Blue Harbour Seafood", "blueharbourseafood.com"),
            ("Evergreen Care Homes", "evergreencare.co.uk"),
            ("Quarry Hill Stone", "quarryhillstone.co.uk"),
            ("Nimbus Cloud Hosting", "nimbushosting.io"),
            ("Foxglove Florists", None),
            ("Granite Peak Outdoor", "granitepeak.com"),
            ("Thistle Language School", "thistlelanguages.com"),
            ("Orchard Valley Farms", "orchardvalleyfarms.com"),
            ("Beacon Security Systems", "beaconsecurity.co.uk"),
            ("Carter & Sons Plumbing", None),
            ("Summit Physiotherapy", "summitphysio.co.uk"),
            ("Tidewater Marine Services", "tidewatermarine.com"),
            ("Ivy House Hotel", "ivyhousehotel.co.uk"),
            ("Mosaic Events", "mosaicevents.com"),
            ("Falcon Courier", "falconcourier.co.uk"),
            ("Juniper Home Textiles", "juniperhome.com"),
            ("Windmill Organic Foods", "windmillorganic.com"),
            ("Clearview Windows", "clearviewwindows.co.uk"),
            ("Harper Medical Supplies", "harpermedical.com"),
            ("Oldfield Auto Parts", "oldfieldautoparts.co.uk"),
            ("Starling Coffee Roasters", "starlingcoffee.com"),
            ("Maple Leaf Dental Lab", "mapleleaflab.com"),
            ("Ironbridge Metalworks", "ironbridgemetal.co.uk"),
            ("Lighthouse Education Trust", "lighthouse-edu.org"),
            ("Cobalt Electrical", "cobaltelectrical.co.uk"),
            ("Westbrook Pharmacy", "westbrookpharmacy.co.uk"),
            ("Rosewood Wedding Studio", "rosewoodweddings.com"),
            ("Vantage Architects", "vantagearchitects.com"),
            ("Hillcrest School of Music", "hillcrestmusic.org"),
            ("Polar Refrigeration", "polarrefrigeration.com"),
            ("Amberly Cosmetics", "amberlycosmetics.com"),
            ("Crown Scaffolding", "crownscaffolding.co.uk"),
            ("Sunny Days Nursery", "sunnydaysnursery.co.uk"),
            ("Trident Packaging", "tridentpackaging.com"),
            ("Old Mill Bookshop", "oldmillbooks.co.uk"),
            ("Keystone Insurance Brokers", "keystonebrokers.com"),
            ("Blackthorn Tyres", "blackthorntyres.co.uk"),
            ("Elmwood Cleaning Services", "elmwoodcleaning.co.uk"),
        ],
        "people": [
            (
                "Oliver James Daniel Thomas Michael David Samuel Richard Andrew Peter",
                "Smith Johnson Taylor Brown Wilson Evans Walker Wright Robinson Thompson",
            ),
            (
                "Emma Sophie Charlotte Hannah Grace Laura Chloe Megan Lucy Rachel",
                "Hughes Green Hall Clarke Patel Khan Murphy Campbell Bennett Fisher",
            ),
        ],
        "free_mail": ["gmail.com", "outlook.com", "yahoo.co.uk"],
        "phones": [
            "+44 20 7946 0###",
            "020 7946 0###",
            "07700 900###",
            "+44 7700 900###",
            "+44 161 496 0###",
            "+1 (202) 555-01##",
            "+1 312-555-01##",
        ],
        "sources": {
            "website": "Website",
            "referral": "Referral",
            "cold_call": "Cold call",
            "exhibition": "Exhibition",
            "newsletter": "Email newsletter",
            "partner": "Partner",
        },
        # Deal values: from 1,500 to 40,000 in steps of 100.
        "value": (1500, 40000, 100),
        "moved_to": [
            [  # Interested
                (
                    "call",
                    "Cold call went well: spoke to the operations manager. They take orders "
                    "by phone and in Excel and lose some of them. Interested, asked for case "
                    "studies. Next time mention the wholesale distributor we automated.",
                ),
                (
                    "email",
                    "Replied to our email: they want to automate invoice approval. The "
                    "CFO decides; she is back from holiday on Monday.",
                ),
                (
                    "message",
                    "Wrote to us on WhatsApp: want to know more about the warehouse "
                    "module. Prefers messages to calls.",
                ),
            ],
            [  # Estimate requested
                (
                    "call",
                    "Asked for an estimate: connect their online shop to the accounting "
                    "system, about 300 orders a day. Need it by Friday; they are comparing us "
                    "with one more vendor.",
                ),
                (
                    "email",
                    "Sent their requirements (4 pages) and asked for a price and a "
                    "timeline. What matters most to them is the app for their couriers.",
                ),
                (
                    "meeting",
                    "Video call with the owner and their IT contractor. They want a "
                    "quote for a customer portal, no budget named. Remember: the contractor is "
                    "sceptical, prepare answers about hosting.",
                ),
            ],
            [  # Estimate made
                (
                    "email",
                    "Sent the estimate: two phases, six weeks in all. Stressed that phase "
                    "one needs nothing from their IT. Next time ask whether the CFO has seen it.",
                ),
                (
                    "call",
                    "Walked them through the estimate on the phone. Questions about "
                    "support after launch; promised to send the support terms in writing.",
                ),
            ],
            [  # Discussing the task
                (
                    "meeting",
                    "Meeting at their office: went through the order process step by "
                    "step. Found two more integrations (the bank and the delivery service). The "
                    "scope grows, update the estimate.",
                ),
                (
                    "call",
                    "Long call with the head of sales about the task: they need reports "
                    "by salesperson and by region. Agreed that moving the old data is on their "
                    "side.",
                ),
            ],
            [  # Discussing terms
                (
                    "meeting",
                    "Discussed terms with the managing director: they want 30% up "
                    "front instead of 50% and a fixed launch date. Agreed to consider paying in "
                    "three parts.",
                ),
                (
                    "email",
                    "They sent their own contract template. Our lawyer's comments by "
                    "Wednesday; the sticking points are the penalty clause and who owns the code.",
                ),
                (
                    "call",
                    "Haggled over the discount: they will sign if training for 10 users "
                    "is included. The 5% discount needs approval from our side.",
                ),
            ],
            [  # Signing the contract
                (
                    "email",
                    "Contract agreed and sent for e-signature. They pay the first "
                    "invoice after signing; the accountant's direct line is in the email.",
                ),
                (
                    "meeting",
                    "Met to sign; the director wants to read the schedule appendix once "
                    "more. Promised to sign this week.",
                ),
            ],
        ],
        "won": [
            (
                "call",
                "Contract signed and the deposit has arrived. Kick-off booked; handed "
                "over to the project team.",
            ),
            ("email", "Got the signed contract; the first invoice is paid. Welcome aboard!"),
            (
                "meeting",
                "Kick-off meeting: introduced the project manager, agreed on weekly "
                "status calls on Tuesdays.",
            ),
        ],
        "lost": [
            [  # Price too high
                (
                    "call",
                    "Our price is almost twice their budget. Offered a smaller first "
                    "phase; not interested for now. Could come back in the autumn.",
                ),
            ],
            [  # Chose a competitor
                (
                    "email",
                    "They chose another vendor who promised an off-the-shelf solution. "
                    "Asked to stay in touch; check in six months how it is going.",
                ),
            ],
            [  # No budget
                (
                    "call",
                    "This year's budget was cut and the project is on hold. The director "
                    "suggested calling again after next year's planning.",
                ),
            ],
            [  # Stopped responding
                (
                    "message",
                    "Third reminder without an answer, calls go unanswered too. Closing the lead.",
                ),
            ],
            [  # Not a fit for us
                (
                    "call",
                    "Turned out they need a simple website, not automation. Recommended "
                    "a partner studio.",
                ),
            ],
        ],
        "lost_other": [
            ("call", "They decided not to go ahead. The reason is noted on the lead."),
        ],
        "follow_ups": [
            ("call", "No answer. Sent a text asking when is a good time to call."),
            (
                "call",
                "The receptionist says the director is on holiday until next week. Call back then.",
            ),
            ("email", "Sent a reminder with our presentation and two case studies attached."),
            (
                "message",
                "Short chat on Telegram: they are closing the quarter, asked to talk "
                "again in a few days.",
            ),
            (
                "call",
                "Quick call: the decision is with the owner, who is travelling. Ask about "
                "their timeline next time.",
            ),
            (
                "meeting",
                "Met at the industry breakfast. Talked about their plans: a second "
                "warehouse opens in spring.",
            ),
            ("email", "Answered their questions about data security and where the servers are."),
            ("message", "Sent the link to the demo recording; they will watch it with the team."),
        ],
        "next_steps": [
            ["Get through to the decision maker", "Send the introductory presentation"],
            ["Send case studies and book a call with the director", "Ask about their timeline"],
            ["Prepare and send the estimate", "Check the order volume for the estimate"],
            ["Ask for feedback on the estimate", "Call the CFO about the estimate"],
            ["Send the updated scope", "Meet their IT contractor"],
            ["Send the draft contract with the new payment terms", "Get an answer on the discount"],
            ["Check that the contract is signed", "Remind them about the first invoice"],
        ],
    },
    "ru": {
        "companies": [
            ("ООО «Северный ветер»", "sevveter.ru"),
            ("АО «Техноснаб»", "tehnosnab.ru"),
            ("ООО «Пекарня Хлебный дом»", "hlebdom.ru"),
            ("ООО «Уральские металлоконструкции»", "uralmk.ru"),
            ("ООО «Стоматология Улыбка»", "ulybka-dent.ru"),
            ("ООО «ТК Магистраль»", "tk-magistral.ru"),
            ("ООО «Мебельная фабрика Кедр»", "mf-kedr.ru"),
            ("ООО «Агрохолдинг Заря»", "agro-zarya.ru"),
            ("ООО «СтройМастер»", "stroymaster.ru"),
            ("ООО «Ветклиника Айболит»", "aibolit-vet.ru"),
            ("ООО «Турагентство Пилигрим»", "piligrim-tour.ru"),
            ("АО «Волжский завод упаковки»", "vzu.ru"),
            ("ООО «Фитнес-клуб Атлант»", "atlant-fit.ru"),
            ("ООО «Оптика Зоркий глаз»", "zorkiy.ru"),
            ("ООО «Кофейня Зерно»", "zerno-coffee.ru"),
            ("ООО «Юридическое бюро Право»", "pravo-bureau.ru"),
            ("ООО «Автосервис Гараж 21»", "garage21.ru"),
            ("ООО «Цветы на Садовой»", None),
            ("ООО «Школа английского Оксфорд Клаб»", "oxford-club.ru"),
            ("ООО «Логистик Плюс»", "logplus.ru"),
            ("ООО «Типография Формат»", "format-print.ru"),
            ("ООО «Медцентр Здоровье»", "medzdorovie.ru"),
            ("ООО «Сибирский лес»", "siblesprom.ru"),
            ("ООО «Окна Комфорт»", "okna-komfort.ru"),
            ("ООО «Кейтеринг Вкусно»", "vkusno-catering.ru"),
            ("ООО «Агентство недвижимости Ключ»", "kluch-an.ru"),
            ("ООО «Электромонтаж Сервис»", "elmontazh.ru"),
            ("ООО «Детский сад Солнышко»", "solnyshko-sad.ru"),
            ("ООО «Фермерское хозяйство Луговое»", None),
            ("ООО «Гостиница Волга»", "hotel-volga.ru"),
            ("ООО «Чистый дом»", "chistydom.ru"),
            ("ООО «Автозапчасти Мотор»", "motor-parts.ru"),
            ("ООО «Бухгалтерия под ключ»", "buh-pod-kluch.ru"),
            ("АО «Энергосбыт Северо-Запад»", "energo-sz.ru"),
            ("ООО «Салон красоты Лаванда»", "lavanda-salon.ru"),
            ("ООО «Торговый дом Восток»", "td-vostok.ru"),
            ("ООО «Пивоварня Хмельная»", "hmelnaya.ru"),
            ("ООО «Курьерская служба Молния»", "molniya-express.ru"),
            ("ООО «СК Фундамент»", "sk-fundament.ru"),
            ("ООО «Аптека Добрый доктор»", "dobrydoctor.ru"),
            ("ООО «Обувная фабрика Шаг»", "shag-obuv.ru"),
            ("ООО «Студия дизайна Интерьер»", "interior-studio.ru"),
            ("ООО «Рыбный двор»", None),
            ("ООО «Охранное агентство Щит»", "shchit-ohrana.ru"),
            ("ООО «Книжная лавка»", "knizhlavka.ru"),
            ("АО «Завод Промвентиляция»", "promvent.ru"),
            ("ООО «Свадебный салон Мечта»", "mechta-salon.ru"),
            ("ООО «Архитектурное бюро Линия»", "ab-liniya.ru"),
            ("ООО «Музыкальная школа Камертон»", "kamerton-school.ru"),
            ("ООО «Холодильные системы»", "holodsys.ru"),
            ("ООО «Косметика Натура»", "natura-cosmetics.ru"),
            ("ООО «Леса и опалубка»", "lesa-opalubka.ru"),
            ("ООО «Шиномонтаж Колесо»", "koleso-shina.ru"),
            ("ООО «Клининговая компания Блеск»", "blesk-clean.ru"),
            ("ООО «Страховой брокер Гарант»", "garant-broker.ru"),
            ("АО «Молочный комбинат Бурёнка»", "burenka-milk.ru"),
            ("ООО «Языковой центр Полиглот»", "poliglot-center.ru"),
            ("ООО «Кондитерская Сладкоежка»", "sladkoezhka.ru"),
            ("ООО «Дом инструмента»", "dom-instrumenta.ru"),
            ("ООО «Зоомагазин Хвостик»", "hvostik-zoo.ru"),
        ],
        "people": [
            (
                "Алексей Дмитрий Сергей Андрей Михаил Игорь Павел Николай Владимир Евгений",
                "Иванов Смирнов Кузнецов Попов Соколов Лебедев Новиков Морозов Волков Козлов",
            ),
            (
                "Ольга Елена Наталья Татьяна Анна Мария Ирина Светлана Юлия Екатерина",
                "Васильева Фёдорова Орлова Зайцева Белова "
                "Егорова Павлова Семёнова Голубева Виноградова",
            ),
        ],
        "free_mail": ["mail.ru", "yandex.ru", "gmail.com", "bk.ru"],
        "phones": [
            "+7 (9##) ###-##-##",
            "8 9## ### ## ##",
            "8-9##-###-##-##",
            "+79#########",
            "+7 495 ###-##-##",
            "8 (812) ###-##-##",
        ],
        "sources": {
            "website": "Сайт",
            "referral": "Рекомендация",
            "cold_call": "Холодный звонок",
            "exhibition": "Выставка",
            "newsletter": "Email-рассылка",
            "partner": "Партнёр",
        },
        # Deal values in roubles: from 60 000 to 1 500 000 in steps of 5 000.
        "value": (60000, 1500000, 5000),
        "moved_to": [
            [  # Интересуется
                (
                    "call",
                    "Холодный звонок прошёл удачно: поговорил с руководителем отдела "
                    "продаж. Заказы принимают по телефону и в Excel, часть теряется. "
                    "Заинтересовались, попросили примеры внедрений. В следующий раз рассказать "
                    "про оптовую компанию, которую мы автоматизировали.",
                ),
                (
                    "email",
                    "Ответили на наше письмо: хотят автоматизировать согласование "
                    "счетов. Решает финансовый директор, она вернётся из отпуска в понедельник.",
                ),
                (
                    "message",
                    "Написали в WhatsApp: хотят подробнее про складской модуль. Удобнее "
                    "переписка, чем звонки.",
                ),
            ],
            [  # Запросили оценку
                (
                    "call",
                    "Попросили оценку: связать интернет-магазин с 1С, около 300 заказов "
                    "в день. Оценка нужна к пятнице, сравнивают нас ещё с одним подрядчиком.",
                ),
                (
                    "email",
                    "Прислали техническое задание на 4 страницах, просят цену и сроки. "
                    "Главное для них — приложение для курьеров.",
                ),
                (
                    "meeting",
                    "Созвонились по видео с собственником и их IT-подрядчиком. Нужна "
                    "оценка личного кабинета для клиентов, бюджет не назвали. Помнить: подрядчик "
                    "настроен скептически, заранее подготовить ответы про хостинг.",
                ),
            ],
            [  # Сделали оценку
                (
                    "email",
                    "Отправил оценку: два этапа, всего шесть недель. Подчеркнул, что для "
                    "первого этапа их программисты не нужны. В следующий раз спросить, видел ли "
                    "оценку финансовый директор.",
                ),
                (
                    "call",
                    "Прошлись по оценке по телефону. Были вопросы про поддержку после "
                    "запуска — обещал прислать условия поддержки письменно.",
                ),
            ],
            [  # Обсуждаем задачу
                (
                    "meeting",
                    "Встреча у них в офисе: разобрали обработку заказа по шагам. "
                    "Нашлись ещё две интеграции — банк и служба доставки. Объём растёт, обновить "
                    "оценку.",
                ),
                (
                    "call",
                    "Долгий разговор с коммерческим директором о задаче: нужны отчёты по "
                    "менеджерам и по регионам. Договорились, что перенос старой базы — на их "
                    "стороне.",
                ),
            ],
            [  # Обсуждаем условия
                (
                    "meeting",
                    "Обсудили условия с генеральным директором: хотят предоплату 30% "
                    "вместо 50% и твёрдую дату запуска. Договорились подумать об оплате в три "
                    "этапа.",
                ),
                (
                    "email",
                    "Прислали свой шаблон договора. Замечания нашего юриста — к среде; "
                    "спорные пункты — неустойка и права на код.",
                ),
                (
                    "call",
                    "Торговались о скидке: подпишут, если включим обучение 10 "
                    "сотрудников. Скидку 5% нужно согласовать у нас.",
                ),
            ],
            [  # Заключаем контракт
                (
                    "email",
                    "Договор согласован, отправили на подпись через ЭДО. Первый счёт "
                    "оплатят после подписания; прямой телефон бухгалтера — в письме.",
                ),
                (
                    "meeting",
                    "Встретились подписывать; директор хочет ещё раз перечитать "
                    "приложение со сроками. Подписать обещали на этой неделе.",
                ),
            ],
        ],
        "won": [
            (
                "call",
                "Договор подписан, предоплата пришла. Назначили стартовую встречу, "
                "передал проект команде.",
            ),
            ("email", "Получили подписанный договор, первый счёт оплачен. Работаем!"),
            (
                "meeting",
                "Провели стартовую встречу: познакомили с менеджером проекта, "
                "договорились о еженедельных созвонах по вторникам.",
            ),
        ],
        "lost": [
            [  # Слишком дорого
                (
                    "call",
                    "Наша цена почти вдвое выше их бюджета. Предложил урезанный первый "
                    "этап — пока не интересно. Можно вернуться осенью.",
                ),
            ],
            [  # Выбрали конкурента
                (
                    "email",
                    "Выбрали другого подрядчика, который обещал готовое решение. Просили "
                    "оставаться на связи; через полгода узнать, как у них дела.",
                ),
            ],
            [  # Нет бюджета
                (
                    "call",
                    "Бюджет на этот год урезали, проект заморожен. Директор советовал "
                    "позвонить после планирования на следующий год.",
                ),
            ],
            [  # Перестали отвечать
                (
                    "message",
                    "Третье напоминание без ответа, на звонки тоже не отвечают. Закрываю лид.",
                ),
            ],
            [  # Не наш клиент
                (
                    "call",
                    "Оказалось, им нужен простой сайт, а не автоматизация. Порекомендовал "
                    "студию-партнёра.",
                ),
            ],
        ],
        "lost_other": [
            ("call", "Решили не начинать проект. Причина указана в карточке."),
        ],
        "follow_ups": [
            ("call", "Не дозвонился. Написал сообщение, спросил, когда удобно созвониться."),
            (
                "call",
                "Секретарь сказала, что директор в отпуске до следующей недели. Перезвонить после.",
            ),
            ("email", "Отправил напоминание, приложил презентацию и два кейса."),
            (
                "message",
                "Коротко переписались в Telegram: у них закрытие квартала, просили "
                "вернуться к разговору через несколько дней.",
            ),
            (
                "call",
                "Короткий звонок: решение за собственником, он в командировке. В "
                "следующий раз спросить про сроки.",
            ),
            (
                "meeting",
                "Встретились на отраслевом завтраке. Говорили об их планах: весной "
                "открывают второй склад.",
            ),
            ("email", "Ответил на вопросы о безопасности данных и о том, где стоят серверы."),
            (
                "message",
                "Отправил ссылку на запись демонстрации, обещали посмотреть всей командой.",
            ),
        ],
        "next_steps": [
            ["Дозвониться до того, кто принимает решение", "Отправить вводную презентацию"],
            ["Отправить кейсы и договориться о звонке с директором", "Узнать их сроки"],
            ["Подготовить и отправить оценку", "Уточнить объём заказов для оценки"],
            ["Узнать мнение об оценке", "Позвонить финансовому директору по оценке"],
            ["Отправить обновлённый объём работ", "Встретиться с их IT-подрядчиком"],
            ["Отправить проект договора с новым графиком оплаты", "Получить ответ по скидке"],
            ["Проверить, подписан ли договор", "Напомнить об оплате первого счёта"],
        ],
    },
}
