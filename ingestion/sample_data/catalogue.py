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
    allowed_steps: tuple[int, ...]
    monthly_price_range: tuple[int, int]
    payment_type: str  # RUNNING_PAYMENT or ONE_TIME_PAYMENT
    recipient_type: str  # COMPANY (a provider) or PERSON (a foster family)
    weight: int  # how often the sample grants it

    @property
    def account_string(self) -> str:
        """OS2bos' `saved_account_string`: main account and activity category."""
        return f"{self.main_account}-{self.activity_category_code}"


SERVICES: tuple[Service, ...] = (
    Service("SEL-11-3.1", "Konsulentbistand, herunder familierettet", "015016",
            "Konsulentbistand efter § 11,3,1", "015200",
            "Forebyggende indsats - Konsulentbistand og rådgivning", "528211017",
            (2,), (3_000, 9_000), "ONE_TIME_PAYMENT", "COMPANY", 14),
    Service("SEL-11-6", "Økonomisk støtte til fritidstilbud", "015168",
            "Støtte til fritidstilbud", "015201",
            "Forebyggende indsats - Støtte til fritidstilbud", "528211017",
            (2,), (500, 1_500), "RUNNING_PAYMENT", "PERSON", 8),
    Service("SEL-52-3.3", "Familiebehandling eller lignende", "015011",
            "Familiebehandling", "015209", "Familiebehandling", "528211003",
            (3,), (12_000, 38_000), "RUNNING_PAYMENT", "COMPANY", 16),
    Service("SEL-52-3.3", "Familiebehandling eller lignende", "015006",
            "Dagbehandlingstilbud", "015198", "Dagbehandling", "528211003",
            (3,), (28_000, 52_000), "RUNNING_PAYMENT", "COMPANY", 5),
    Service("SEL-52-3.6", "Kontaktperson til barnet/den unge/familien", "015017",
            "Kontaktperson", "015202", "Kontaktpersonordning", "528211007",
            (2, 3, 4, 5, 6), (6_000, 18_000), "RUNNING_PAYMENT", "COMPANY", 14),
    Service("SEL-52-3.5", "Aflastningsordning", "015025",
            "Plejefamilier, vederlag", "015188", "Aflastning i familie", "528211005",
            (2, 3, 4, 5, 6), (7_000, 14_000), "RUNNING_PAYMENT", "PERSON", 7),
    Service("SEL-52-3.9", "Anden hjælp", "015002",
            "Anden hjælp efter § 52,3,9", "015196", "Anden hjælp", "582211010",
            (3,), (1_500, 9_000), "ONE_TIME_PAYMENT", "COMPANY", 6),
    Service("SEL-52-3.7", "Anbringelse udenfor hjemmet", "015023",
            "Netværksplejefamilier", "015194", "Anbringelse - Netværksplejefamilie",
            "528221005", (4, 5, 6), (9_000, 19_000), "RUNNING_PAYMENT", "PERSON", 5),
    Service("SEL-52-3.7", "Anbringelse udenfor hjemmet", "015025",
            "Plejefamilier, vederlag", "015190", "Anbringelse - Familiepleje", "528221002",
            (4, 5, 6), (28_000, 48_000), "RUNNING_PAYMENT", "PERSON", 9),
    Service("SEL-52-3.7", "Anbringelse udenfor hjemmet", "015015",
            "Kommunale plejefamilier, vederlag", "015192",
            "Anbringelse - Kommunal plejefamilie", "528221004",
            (4, 5, 6), (24_000, 38_000), "RUNNING_PAYMENT", "PERSON", 4),
    Service("SEL-52-3.7", "Anbringelse udenfor hjemmet", "015031",
            "Soc.pæd. opholdssteder", "015195", "Anbringelse - Opholdssted", "528201003",
            (4, 5, 6), (55_000, 88_000), "RUNNING_PAYMENT", "COMPANY", 7),
    Service("SEL-58-jf 52-3.7", "Anbringelse uden samtykke fra forældrene", "015008",
            "Døgninstitutioner vedr. sociale adfærdsproblemer", "015191",
            "Anbringelse - Institution", "528231002",
            (4, 5, 6), (75_000, 120_000), "RUNNING_PAYMENT", "COMPANY", 3),
    Service("SEL-52-3.7", "Anbringelse udenfor hjemmet", "015019",
            "Kost- og efterskoler", "015193", "Anbringelse - Kost- og efterskole",
            "528201004", (4, 5, 6), (14_000, 26_000), "RUNNING_PAYMENT", "COMPANY", 3),
    Service("SEL-52-3.7", "Anbringelse udenfor hjemmet", "015010",
            "Eget værelse", "015189", "Anbringelse - Eget værelse", "528201005",
            (4, 5, 6), (12_000, 24_000), "RUNNING_PAYMENT", "COMPANY", 2),
)

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
