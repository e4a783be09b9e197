"""The sample municipality's service catalogue, taken from OS2bos 3.8 reference data.

Each service is a (paragraph, service, activity category, account) combination that OS2bos'
`core_sectioninfo` really contains for children's cases (`../shared/reference/os2bos/`).
Prices are monthly list prices before the provider's VAT factor; they are sample-data
parameters chosen to match published Danish price levels, not reference facts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    paragraph: str
    paragraph_text: str
    service_code: str
    service_name: str
    activity_category_code: str
    activity_category_name: str
    main_account: str
    frequency: str  # ONE_TIME, DAILY, WEEKLY or MONTHLY: how OS2bos generates its payments
    price_range: tuple[int, int]  # DKK per payment (per day, week, month or once) before VAT factor
    recipient_type: str  # COMPANY (a provider), PERSON (a foster family) or INTERNAL (in-house unit)
    typical_days: tuple[int, int]  # how long a grant usually runs
    weight: int  # how often the sample grants it

    @property
    def account_string(self) -> str:
        """OS2bos' `saved_account_string`: main account and activity category."""
        return f"{self.main_account}-{self.activity_category_code}"

    @property
    def payment_type(self) -> str:
        return "ONE_TIME_PAYMENT" if self.frequency == "ONE_TIME" else "RUNNING_PAYMENT"


_PLACEMENT = ("SEL-52-3.7", "Anbringelse udenfor hjemmet")

SERVICES: tuple[Service, ...] = (
    Service("SEL-11-3.1", "Konsulentbistand, herunder familierettet", "015016",
            "Konsulentbistand efter § 11,3,1", "015200",
            "Forebyggende indsats - Konsulentbistand og rådgivning", "528211017",
            "ONE_TIME", (3_000, 9_000), "COMPANY", (1, 1), 14),
    Service("SEL-11-6", "Økonomisk støtte til fritidstilbud", "015168",
            "Støtte til fritidstilbud", "015201",
            "Forebyggende indsats - Støtte til fritidstilbud", "528211017",
            "MONTHLY", (500, 1_500), "PERSON", (90, 365), 8),
    Service("SEL-52-3.3", "Familiebehandling eller lignende", "015011",
            "Familiebehandling", "015209", "Familiebehandling", "528211003",
            "MONTHLY", (12_000, 38_000), "COMPANY", (90, 540), 12),
    Service("SEL-52-3.3", "Familiebehandling eller lignende", "015006",
            "Dagbehandlingstilbud", "015198", "Dagbehandling", "528211003",
            "MONTHLY", (28_000, 52_000), "COMPANY", (180, 720), 4),
    Service("SEL-52-3.6", "Kontaktperson til barnet/den unge/familien", "015017",
            "Kontaktperson", "015202", "Kontaktpersonordning", "528211007",
            "WEEKLY", (1_500, 4_500), "COMPANY", (120, 720), 14),
    Service("SEL-52-3.5", "Aflastningsordning", "015025",
            "Plejefamilier, vederlag", "015188", "Aflastning i familie", "528211005",
            "MONTHLY", (7_000, 14_000), "PERSON", (180, 900), 7),
    Service("SEL-52-3.9", "Anden hjælp", "015002",
            "Anden hjælp efter § 52,3,9", "015196", "Anden hjælp", "582211010",
            "ONE_TIME", (1_500, 9_000), "COMPANY", (1, 1), 6),
    Service(*_PLACEMENT, "015023", "Netværksplejefamilier", "015194",
            "Anbringelse - Netværksplejefamilie", "528221005",
            "MONTHLY", (9_000, 19_000), "PERSON", (365, 2_200), 5),
    Service(*_PLACEMENT, "015025", "Plejefamilier, vederlag", "015190",
            "Anbringelse - Familiepleje", "528221002",
            "MONTHLY", (28_000, 48_000), "PERSON", (365, 2_200), 9),
    Service(*_PLACEMENT, "015015", "Kommunale plejefamilier, vederlag", "015192",
            "Anbringelse - Kommunal plejefamilie", "528221004",
            "MONTHLY", (24_000, 38_000), "PERSON", (365, 1_800), 4),
    Service(*_PLACEMENT, "015031", "Soc.pæd. opholdssteder", "015195",
            "Anbringelse - Opholdssted", "528201003",
            "DAILY", (1_800, 2_900), "COMPANY", (180, 1_500), 7),
    Service("SEL-58-jf 52-3.7", "Anbringelse uden samtykke fra forældrene", "015008",
            "Døgninstitutioner vedr. sociale adfærdsproblemer", "015191",
            "Anbringelse - Institution", "528231002",
            "DAILY", (2_500, 4_000), "COMPANY", (120, 1_100), 3),
    Service(*_PLACEMENT, "015019", "Kost- og efterskoler", "015193",
            "Anbringelse - Kost- og efterskole", "528201004",
            "MONTHLY", (14_000, 26_000), "COMPANY", (300, 700), 3),
    Service(*_PLACEMENT, "015010", "Eget værelse", "015189",
            "Anbringelse - Eget værelse", "528201005",
            "MONTHLY", (12_000, 24_000), "COMPANY", (180, 900), 2),
)

# The in-house family treatment unit: its grants carry volume (hours per month) and fictive
# schedules; its cost reaches the ledger as salaries, which KPB allocates by volume.
IN_HOUSE_SERVICE = Service(
    "SEL-52-3.3", "Familiebehandling eller lignende", "015011", "Familiebehandling", "015209",
    "Familiebehandling", "528211003", "MONTHLY", (8, 30), "INTERNAL", (90, 540), 10,
)
IN_HOUSE_UNIT = "Familiehuset (egen enhed)"
IN_HOUSE_HOURLY_COST = (650, 780)  # salary cost per produced hour, DKK, varies by month

# Ledger postings no grant explains: monthly amounts per municipality (shared costs).
OVERHEAD_POSTINGS: tuple[tuple[str, str, str, int, int], ...] = (
    ("528201003-015195", "015195", "Supervision og kurser, anbringelser", 8_000, 30_000),
    ("528211017-015200", "015200", "Konsulentbistand, forebyggelse, fællesudgift", 15_000, 60_000),
)
UNKNOWN_ACCOUNT = "528299999-015999"

# Real Danish care providers (OS2bos' serviceproviders.csv): CVR, name, business type, postcode,
# VAT factor in percent (OS2bos multiplies every amount by vat_factor / 100).
PROVIDERS: tuple[tuple[str, str, str, str, float], ...] = (
    ("10104181", "Maglesøhus", "Opholdssted", "4300", 95.4),
    ("10197171", "LØVDAL NATURCENTER", "Opholdssted", "9500", 100.0),
    ("10117115", "Stillebækken", "Andet", "9520", 100.0),
    ("10174155", "Støvring Omsorgshjem", "Egen bolig", "9520", 100.0),
    ("25317505", "Opholdsstedet Skovgården", "Opholdssted", "8600", 95.4),
    ("29189420", "Familiehuset Østerbro", "Andet", "2100", 100.0),
    ("31560934", "Efterskolen ved Sønderå", "Efterskole", "6270", 100.0),
    ("33036787", "Behandlingshjemmet Solbakken", "Opholdssted med budget", "7400", 95.4),
    ("35468307", "Kontaktpersonkorpset ApS", "Andet", "8000", 80.0),
    ("36958499", "Psykologhuset Nord", "Psykolog", "9000", 100.0),
)

STEP_NAMES: dict[int, str] = {
    1: "Trin 1: Tidlig forebyggelse i almenområdet",
    2: "Trin 2: Forebyggende foranstaltninger",
    3: "Trin 3: Hjemmebaserede foranstaltninger",
    4: "Trin 4: Anbringelse i slægt eller netværk",
    5: "Trin 5: Anbringelse i plejefamilie",
    6: "Trin 6: Anbringelse på institution",
}

TARGET_GROUPS: tuple[str, ...] = ("Familieafdelingen", "Handicapafdelingen")
APPROVAL_LEVELS: tuple[str, ...] = ("egenkompetence", "teammøde", "fagspecialist", "teamleder")
DISTRICTS: tuple[str, ...] = ("Nord", "Syd", "Centrum", "Vest")
TEAMS: tuple[str, ...] = ("Team Småbørn", "Team Skolebørn", "Team Unge", "Team Handicap")
MUNICIPALITIES: tuple[tuple[str, str], ...] = (  # fictional: (kommunekode, name)
    ("901", "Nordby Kommune"), ("902", "Østerå Kommune"), ("903", "Vesterhavn Kommune"),
    ("904", "Søndermark Kommune"), ("905", "Fjordby Kommune"), ("906", "Skovlund Kommune"),
    ("907", "Bakkedal Kommune"), ("908", "Engholm Kommune"),
)
# Central rates (takster) from OS2bos' reference data, with their validity start.
RATES: tuple[tuple[str, str, float], ...] = (
    ("Vederlag pr. døgn", "2020-01-01", 145.00),
    ("1 gange normalvederlag pr. måned", "2020-01-01", 4_423.00),
    ("Kost og logi pr. døgn pr. barn (under 10 år)", "2020-01-01", 189.00),
)
RELATION_TYPES: tuple[str, ...] = ("mor", "far")

FIRST_NAMES_F: tuple[str, ...] = (
    "Freja", "Ida", "Clara", "Alma", "Ella", "Sofia", "Karla", "Agnes", "Ellen", "Asta",
    "Emma", "Laura", "Maja", "Josefine", "Signe", "Nanna", "Sille", "Liva", "Mille", "Rosa",
)
FIRST_NAMES_M: tuple[str, ...] = (
    "William", "Noah", "Oscar", "Lucas", "Carl", "Victor", "Malthe", "Alfred", "Emil", "Aksel",
    "Magnus", "Frederik", "Elias", "Valdemar", "Anton", "Storm", "Theo", "Johan", "Mads", "Søren",
)
LAST_NAMES: tuple[str, ...] = (
    "Nielsen", "Jensen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen",
    "Rasmussen", "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen",
    "Christiansen", "Poulsen", "Johansen", "Møller", "Mortensen", "Østergaard", "Damgaard",
)
