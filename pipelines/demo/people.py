"""Synthetic patients: a country-neutral clinical story (visits, diagnoses, labs, vitals, drugs).

Every patient comes from its own `random.Random`, seeded by (seed, source, index), so a patient's
story does not depend on how many patients come before it, and generation streams patient by patient.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from fhirmony.demo.catalog import (
    ALLERGIES,
    CONDITIONS,
    IMMUNIZATIONS,
    LABS,
    MEDICATIONS,
    PROCEDURES,
    VITALS,
    ConditionKind,
    LabKind,
    MedicationKind,
    ProcedureKind,
    VitalKind,
)

# The demo's "today": clean data never passes it; `future_date` defects land years after it.
REFERENCE_DATE = date(2025, 12, 31)
FIRST_VISIT = date(2016, 1, 1)

NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "US": {
        "male": ("James", "Robert", "Michael", "William", "David", "Carlos", "Kevin", "Anthony", "Jamal", "Tyler"),
        "female": ("Mary", "Patricia", "Jennifer", "Linda", "Maria", "Ashley", "Keisha", "Emily", "Sofia", "Grace"),
        "family": (
            "Smith",
            "Johnson",
            "Williams",
            "Brown",
            "Garcia",
            "Miller",
            "Davis",
            "Rodriguez",
            "Nguyen",
            "O'Connor",
            "Washington",
            "Kim",
        ),
        "street": ("Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Washington Blvd", "Park Rd"),
        "city": (
            "Springfield|MA|01103",
            "Columbus|OH|43215",
            "Austin|TX|78701",
            "Madison|WI|53703",
            "Portland|OR|97205",
            "Raleigh|NC|27601",
        ),
    },
    "DE": {
        "male": ("Lukas", "Jonas", "Maximilian", "Jürgen", "Klaus", "Mehmet", "Stefan", "Björn", "Uwe", "Tobias"),
        "female": ("Anna", "Lea", "Sabine", "Ursula", "Jana", "Ayşe", "Katrin", "Jördis", "Monika", "Sophie"),
        "family": (
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weiß",
            "Wagner",
            "Becker",
            "Schäfer",
            "Yılmaz",
            "Krüger",
            "Hoffmann",
            "Groß",
        ),
        "street": ("Hauptstraße", "Schulstraße", "Gartenweg", "Bahnhofstraße", "Lindenallee", "Am Mühlbach"),
        "city": (
            "Berlin|BE|10115",
            "München|BY|80331",
            "Köln|NW|50667",
            "Leipzig|SN|04109",
            "Hamburg|HH|20095",
            "Freiburg im Breisgau|BW|79098",
        ),
    },
    "NO": {
        "male": ("Ole", "Lars", "Bjørn", "Håkon", "Øyvind", "Jan", "Per", "Eirik", "Ståle", "Magnus"),
        "female": ("Kari", "Ingrid", "Åse", "Solveig", "Marit", "Liv", "Bodil", "Sigrún", "Nora", "Hege"),
        "family": (
            "Hansen",
            "Johansen",
            "Olsen",
            "Larsen",
            "Sørensen",
            "Bakke",
            "Ødegård",
            "Strøm",
            "Berg",
            "Haugen",
            "Østby",
            "Aas",
        ),
        "street": ("Storgata", "Kirkeveien", "Skolegata", "Fjordveien", "Bjørkelia", "Sjøgata"),
        "city": (
            "Oslo|0301|0150",
            "Bergen|4601|5003",
            "Trondheim|5001|7011",
            "Tromsø|5501|9008",
            "Ålesund|1507|6002",
            "Bodø|1804|8006",
        ),
    },
}


@dataclass(slots=True)
class LabResult:
    kind: LabKind
    value: float  # SI unit of the kind
    time: datetime


@dataclass(slots=True)
class Visit:
    index: int
    kind: str  # AMB | IMP | EMER (v3 ActCode)
    start: datetime  # local wall-clock time
    end: datetime
    diagnoses: list[ConditionKind] = field(default_factory=list)
    labs: list[LabResult] = field(default_factory=list)
    vitals: list[tuple[VitalKind, float]] = field(default_factory=list)
    medications: list[MedicationKind] = field(default_factory=list)
    procedures: list[ProcedureKind] = field(default_factory=list)
    immunization: tuple[str, str] | None = None


@dataclass(slots=True)
class Person:
    index: int
    sex: str  # male | female
    given: str
    family: str
    birth_date: date
    street: str
    city: str
    region: str  # state, Bundesland or kommune number
    postal_code: str
    phone: str
    visits: list[Visit]
    conditions: list[tuple[ConditionKind, Visit]]  # each diagnosis and the visit that recorded it
    allergy: tuple[str, str] | None
    deceased: datetime | None


def person_rng(seed: int, source_id: str, index: int) -> random.Random:
    return random.Random(f"{seed}:{source_id}:patient:{index}")


def make_person(rng: random.Random, country: str, index: int) -> Person:
    """One patient with 1–9 visits between 2016 and the reference date."""
    names = NAMES[country]
    sex = rng.choice(("male", "female"))
    birth = date(1935, 1, 1) + timedelta(days=rng.randrange(0, 72 * 365))
    age = (REFERENCE_DATE - birth).days / 365.25
    city, region, postal = rng.choice(names["city"]).split("|")
    chronic = [c for c in CONDITIONS if c.chronic and rng.random() < c.prevalence * min(2.0, age / 45)]
    acute = [c for c in CONDITIONS if not c.chronic and rng.random() < c.prevalence]
    visits = _visits(rng, max(birth + timedelta(days=30), FIRST_VISIT), 1 + rng.randrange(0, 5) + len(chronic))
    conditions: list[tuple[ConditionKind, Visit]] = []
    for condition in chronic:
        conditions.append((condition, visits[0]))
    for condition in acute:
        conditions.append((condition, rng.choice(visits)))
    for condition, visit in conditions:
        visit.diagnoses.append(condition)
        if condition.medication:
            visit.medications.append(MEDICATIONS[condition.medication])
    keys = {c.key for c in chronic}
    for visit in visits:
        _fill_visit(rng, visit, keys, first=visit.index == 0)
    if rng.random() < 0.4:
        rng.choice(visits).immunization = rng.choice(IMMUNIZATIONS)
    deceased = None
    if age > 75 and rng.random() < 0.08:
        deceased = visits[-1].end + timedelta(days=rng.randrange(1, 200), hours=rng.randrange(24))
        deceased = min(deceased, datetime(2025, 12, 30, 12, 0))
    return Person(
        index=index,
        sex=sex,
        given=rng.choice(names[sex]),
        family=rng.choice(names["family"]),
        birth_date=birth,
        street=f"{rng.choice(names['street'])} {rng.randrange(1, 200)}",
        city=city,
        region=region,
        postal_code=postal,
        phone=f"{rng.randrange(200, 999)}{rng.randrange(1000000, 9999999)}",
        visits=visits,
        conditions=conditions,
        allergy=rng.choice(ALLERGIES) if rng.random() < 0.15 else None,
        deceased=deceased,
    )


def _visits(rng: random.Random, first: date, count: int) -> list[Visit]:
    span = (REFERENCE_DATE - first).days - 12
    days = sorted(rng.randrange(0, max(span, 1)) for _ in range(count))
    visits = []
    for index, day in enumerate(days):
        kind = rng.choices(("AMB", "EMER", "IMP"), weights=(80, 10, 10))[0]
        start = datetime.combine(first + timedelta(days=day), datetime.min.time()) + timedelta(
            hours=rng.randrange(7, 17), minutes=rng.randrange(0, 60, 5)
        )
        length = {
            "AMB": timedelta(minutes=rng.randrange(15, 75, 5)),
            "EMER": timedelta(hours=rng.randrange(2, 9)),
            "IMP": timedelta(days=rng.randrange(1, 11), hours=rng.randrange(0, 8)),
        }[kind]
        visits.append(Visit(index=index, kind=kind, start=start, end=start + length))
    return visits


def _fill_visit(rng: random.Random, visit: Visit, chronic: set[str], first: bool) -> None:
    if rng.random() < 0.65 or "t2d" in chronic:
        panel = rng.sample(LABS, rng.randrange(2, 6))
        if "t2d" in chronic and LABS[0] not in panel:
            panel.append(LABS[0])
        for offset, lab in enumerate(panel):
            time = visit.start + timedelta(minutes=10 + offset)
            visit.labs.append(LabResult(lab, lab_value(rng, lab, chronic), time))
    for vital in VITALS:
        if vital.key == "height" and not first:
            continue
        if vital.key == "weight" and rng.random() < 0.5:
            continue
        value = min(max(rng.gauss(vital.mean, vital.sd), vital.mean - 4 * vital.sd), vital.mean + 4 * vital.sd)
        visit.vitals.append((vital, round(value, 1 if vital.key == "weight" else 0)))
    if rng.random() < 0.1:
        visit.procedures.append(rng.choice(PROCEDURES))


def lab_value(rng: random.Random, lab: LabKind, chronic: set[str]) -> float:
    """A plausible SI value, shifted by the patient's chronic conditions, always inside the lab's bounds."""
    mean = lab.mean
    if lab.key == "glucose" and "t2d" in chronic:
        mean += 3.0
    if lab.key == "cholesterol" and "hld" in chronic:
        mean += 1.5
    if lab.key == "creatinine" and "ckd3" in chronic:
        mean *= 2.0
    low = max(lab.low * 1.1, mean - 3.5 * lab.sd)
    high = min(lab.high * 0.9, mean + 3.5 * lab.sd)
    return min(max(rng.gauss(mean, lab.sd), low), high)


def out_of_range_value(rng: random.Random, lab: LabKind) -> float:
    """An implausible SI value: negative, or several times the upper bound."""
    if rng.random() < 0.3:
        return -round(rng.uniform(0.1, 5.0) * lab.mean, 2)
    return lab.high * rng.uniform(2.0, 8.0)


def rounded(value: float) -> float:
    """Laboratory-style precision: 2 decimals below 10, 1 below 100, none above."""
    size = abs(value)
    if size >= 100:
        return float(round(value))
    return round(value, 1 if size >= 10 else 2)
