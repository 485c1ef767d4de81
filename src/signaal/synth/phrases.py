"""Phrase banks for Dutch, English and mixed ad texts (no explicit content; services are neutral
words or category codes).

Sentences are grouped by *slot* (the place in an ad) and *voice*: ``1`` first person, ``3`` third
person (agencies, sometimes networks), ``we`` plural (duo ads). Placeholders: ``{name}``,
``{age}``, ``{city}``, ``{origin}``, ``{adj1}``, ``{adj2}``, ``{feature}``, ``{services}``,
``{hours}``, ``{agency}``, ``{phone}``.

Cue phrases (family A of INDICATORS.md 5a) mark the evidence with square brackets; the bracketed
part becomes the planted indicator's character span.
"""

from __future__ import annotations

# --- names by origin group -------------------------------------------------------------------
NAMES: dict[str, tuple[str, ...]] = {
    "nl": (
        "Anna",
        "Lisa",
        "Sanne",
        "Femke",
        "Kim",
        "Naomi",
        "Lotte",
        "Eva",
        "Sophie",
        "Iris",
        "Demi",
        "Romy",
        "Chantal",
        "Esmee",
        "Britt",
        "Nikki",
        "Mandy",
        "Jessie",
        "Fleur",
        "Noa",
        "Yara",
        "Amber",
        "Tessa",
        "Lieke",
        "Mara",
        "Joyce",
        "Linda",
        "Debby",
        "Kelly",
        "Bo",
    ),
    "east": (
        "Alina",
        "Bianca",
        "Daria",
        "Elena",
        "Ioana",
        "Andreea",
        "Roxana",
        "Denisa",
        "Larisa",
        "Mihaela",
        "Simona",
        "Teodora",
        "Vanya",
        "Petya",
        "Desislava",
        "Nikol",
        "Raluca",
        "Alexia",
        "Kasia",
        "Zofia",
        "Oana",
        "Cristina",
        "Madalina",
        "Gergana",
        "Irina",
        "Natalia",
    ),
    "latin": (
        "Valentina",
        "Camila",
        "Daniela",
        "Mariana",
        "Gabriela",
        "Paola",
        "Luisa",
        "Carolina",
        "Andrea",
        "Isabella",
        "Sofia",
        "Yuliana",
        "Natalia",
        "Katherine",
        "Estefania",
        "Lorena",
        "Juliana",
        "Vanessa",
        "Diana",
        "Paula",
        "Ximena",
        "Alejandra",
        "Luz",
        "Rosa",
    ),
    "other": (
        "Mei",
        "Lina",
        "Amira",
        "Yasmin",
        "Leila",
        "Nadia",
        "Suki",
        "Maya",
        "Zara",
        "Noor",
        "Aisha",
        "Lin",
        "Hana",
        "Samira",
    ),
}

#: Origins by origin group: (as written in the site's origin field or None when the field is
#: left empty, the Dutch word in texts, the English word in texts). Field and text always agree.
ORIGINS: dict[str, tuple[tuple[str | None, str, str], ...]] = {
    "nl": (
        ("Nederlands", "Nederlandse", "Dutch"),
        ("Nederlandse", "Nederlandse", "Dutch"),
        ("NL", "Hollandse", "Dutch"),
        (None, "Hollandse", "local"),
        ("Hollands", "Hollandse", "Dutch"),
    ),
    "east": (
        ("Roemeens", "Roemeense", "Romanian"),
        ("Roemeense", "Roemeense", "Romanian"),
        ("Bulgaars", "Bulgaarse", "Bulgarian"),
        ("Oost-Europees", "Oost-Europese", "Eastern European"),
        ("Pools", "Poolse", "Polish"),
        ("Hongaars", "Hongaarse", "Hungarian"),
        (None, "Oost-Europese", "Eastern European"),
    ),
    "latin": (
        ("Colombiaans", "Colombiaanse", "Colombian"),
        ("Venezolaans", "Venezolaanse", "Venezuelan"),
        ("Latina", "Latijns-Amerikaanse", "Latina"),
        ("Spaans", "Spaanse", "Spanish"),
        ("Dominicaans", "Dominicaanse", "Dominican"),
        ("Braziliaans", "Braziliaanse", "Brazilian"),
        (None, "Latijns-Amerikaanse", "Latin"),
    ),
    "other": (
        ("Aziatisch", "Aziatische", "Asian"),
        ("Thais", "Thaise", "Thai"),
        ("Marokkaans", "Marokkaanse", "Moroccan"),
        ("Surinaams", "Surinaamse", "Surinamese"),
        ("Exotisch", "exotische", "exotic"),
        (None, "exotische", "exotic"),
    ),
}

ADJ: dict[str, tuple[str, ...]] = {
    "nl": (
        "lieve",
        "spontane",
        "vrolijke",
        "slanke",
        "sportieve",
        "sensuele",
        "rustige",
        "ondeugende",
        "charmante",
        "gezellige",
        "verzorgde",
        "elegante",
        "discrete",
        "warme",
        "speelse",
        "stijlvolle",
        "open",
        "zachte",
        "volslanke",
        "pittige",
    ),
    "en": (
        "sweet",
        "spontaneous",
        "cheerful",
        "slim",
        "sporty",
        "sensual",
        "calm",
        "naughty",
        "charming",
        "friendly",
        "well-groomed",
        "elegant",
        "discreet",
        "warm",
        "playful",
        "classy",
        "open-minded",
        "gentle",
        "curvy",
        "fiery",
    ),
}
FEATURES: dict[str, tuple[str, ...]] = {
    "nl": (
        "lang donker haar",
        "blond haar",
        "mooie ogen",
        "een lieve glimlach",
        "lange benen",
        "een zachte huid",
        "krullen",
        "een mooi figuur",
        "rood haar",
        "een paar tattoos",
        "sproetjes",
        "een natuurlijke uitstraling",
    ),
    "en": (
        "long dark hair",
        "blonde hair",
        "beautiful eyes",
        "a sweet smile",
        "long legs",
        "soft skin",
        "curls",
        "a lovely figure",
        "red hair",
        "a few tattoos",
        "freckles",
        "a natural look",
    ),
}
SERVICES: dict[str, tuple[str, ...]] = {
    "nl": (
        "massage",
        "ontspanningsmassage",
        "gezelschap",
        "diner-date",
        "overnachting",
        "rollenspel",
        "dansen",
        "wellness",
        "knuffelen",
        "bubbelbad",
        "S01",
        "S02",
        "S04",
        "S07",
        "S09",
        "S12",
        "S15",
    ),
    "en": (
        "massage",
        "relaxing massage",
        "companionship",
        "dinner date",
        "overnight",
        "role play",
        "dancing",
        "wellness",
        "cuddling",
        "jacuzzi",
        "S01",
        "S02",
        "S04",
        "S07",
        "S09",
        "S12",
        "S15",
    ),
}
HOURS: dict[str, tuple[str, ...]] = {
    "nl": (
        "ma t/m vr 10:00-22:00",
        "dagelijks vanaf 12 uur",
        "van 11 tot 23 uur",
        "ma-za 14:00-02:00",
        "op afspraak",
        "doordeweeks overdag",
        "vanaf 18:00",
    ),
    "en": (
        "Mon-Fri 10am-10pm",
        "daily from noon",
        "11am till 11pm",
        "Mon-Sat 2pm-2am",
        "by appointment",
        "weekdays daytime",
        "from 6pm",
    ),
}

# --- sentences by slot and voice -------------------------------------------------------------
SENTENCES: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "nl": {
        "greeting": {
            "1": (
                "Hoi heren!",
                "Hallo lieve mannen,",
                "Welkom op mijn pagina.",
                "Hey schat,",
                "Goedendag!",
                "Hallo daar!",
                "Hoi hoi,",
                "Lieve heer,",
                "Hee jij!",
            ),
            "3": (
                "Welkom bij {agency}.",
                "{agency} stelt voor:",
                "Maak kennis met {name}.",
                "Bij {agency} vindt u stijl en discretie.",
                "Graag stellen wij {name} voor.",
            ),
            "we": ("Hoi heren!", "Hallo allemaal,", "Welkom bij ons!", "Hey jij!"),
        },
        "intro": {
            "1": (
                "Ik ben {name}, {age} jaar, een {origin} meid.",
                "Mijn naam is {name} en ik ben {age}.",
                "Ik heet {name} ({age}), {origin} van afkomst.",
                "{name} hier, {age} jaar jong.",
                "Ik ben {name}, een {origin} vrouw van {age}.",
                "Ben {name}, {age} jr.",
            ),
            "3": (
                "{name} is {age} jaar en {origin} van afkomst.",
                "Zij heet {name} en is {age} jaar.",
                "{name} ({age}) is een {origin} dame.",
                "Deze {origin} dame heet {name}, {age} jaar.",
            ),
            "we": (
                "Wij zijn {name}, twee {origin} vriendinnen.",
                "Wij zijn {name} en samen maken we er iets moois van.",
                "Wij, {name}, zijn {age} jaar.",
            ),
        },
        "describe": {
            "1": (
                "Ik ben een {adj1} en {adj2} vrouw met {feature}.",
                "Ik ben {adj1}, {adj2} en heb {feature}.",
                "Een {adj1} meid met {feature}.",
                "Ik sta bekend als {adj1} en {adj2}.",
                "Je vindt bij mij een {adj1} sfeer.",
            ),
            "3": (
                "Zij is {adj1} en {adj2} en heeft {feature}.",
                "Een {adj1} dame met {feature}.",
                "{name} is bekend om haar {adj1} karakter.",
            ),
            "we": (
                "Wij zijn {adj1} en {adj2}.",
                "Twee {adj1} dames met {feature}.",
            ),
        },
        "location": {
            "1": (
                "Je vindt mij in {city}.",
                "Ik ontvang in {city}.",
                "Escort in {city} en omgeving.",
                "Privé-ontvangst in {city}.",
                "Ik woon en werk in {city}.",
                "Te vinden in {city} centrum.",
            ),
            "3": (
                "Zij ontvangt in {city}.",
                "Escort vanuit {city}.",
                "Beschikbaar in {city} en omgeving.",
            ),
            "we": ("Wij ontvangen in {city}.", "Samen in {city}."),
        },
        "services": {
            "1": ("Mogelijkheden: {services}.", "Ik bied {services}.", "Diensten: {services}."),
            "3": ("Mogelijkheden: {services}.", "Zij biedt {services}.", "Diensten: {services}."),
            "we": ("Wij bieden {services}.", "Mogelijkheden: {services}."),
        },
        "hours": {
            "1": ("Werktijden: {hours}.", "Bereikbaar {hours}.", "Ik werk {hours}."),
            "3": ("Contacturen: {hours}.", "Te boeken {hours}."),
            "we": ("Bereikbaar {hours}.", "Werktijden: {hours}."),
        },
        "contact": {
            "1": ("Bel of app {phone}.", "Tel: {phone}", "WhatsApp {phone}", "Sms naar {phone}."),
            "3": ("Reserveren via {phone}.", "Bel {phone} voor een afspraak.", "Tel. {phone}"),
            "we": ("Bel of app ons: {phone}.", "Tel: {phone}"),
        },
        "contact_nophone": {
            "1": (
                "Bel of app het nummer hierboven.",
                "Stuur eerst een berichtje.",
                "Contact via de knop op deze pagina.",
            ),
            "3": ("Bel voor een afspraak.", "Reserveren via het nummer op deze pagina."),
            "we": ("Bel ons via het nummer hierboven.",),
        },
        "closing": {
            "1": (
                "Tot snel!",
                "Kusjes, {name}",
                "Groetjes!",
                "Ik hoor graag van je.",
                "Tot ziens!",
                "Liefs, {name}",
            ),
            "3": (
                "Tot ziens bij {agency}.",
                "Wij zien u graag.",
                "Met vriendelijke groet, {agency}",
            ),
            "we": ("Tot snel!", "Kusjes van ons!"),
        },
    },
    "en": {
        "greeting": {
            "1": (
                "Hi gentlemen!",
                "Hello darling,",
                "Welcome to my page.",
                "Hey you,",
                "Good day!",
                "Hi there!",
                "Hello sweetheart,",
                "Dear gentleman,",
            ),
            "3": (
                "Welcome to {agency}.",
                "{agency} presents:",
                "Meet {name}.",
                "At {agency} you find style and discretion.",
            ),
            "we": ("Hi gentlemen!", "Hello everyone,", "Welcome to us!"),
        },
        "intro": {
            "1": (
                "I am {name}, {age} years old, a {origin} girl.",
                "My name is {name} and I am {age}.",
                "I'm {name} ({age}), {origin} origin.",
                "{name} here, {age} years young.",
                "I am {name}, a {origin} woman of {age}.",
            ),
            "3": (
                "{name} is {age} and {origin}.",
                "Her name is {name}, she is {age}.",
                "{name} ({age}) is a {origin} lady.",
            ),
            "we": ("We are {name}, two {origin} friends.", "We are {name}, {age} years."),
        },
        "describe": {
            "1": (
                "I am a {adj1} and {adj2} woman with {feature}.",
                "I am {adj1}, {adj2} and have {feature}.",
                "A {adj1} girl with {feature}.",
                "People call me {adj1} and {adj2}.",
            ),
            "3": (
                "She is {adj1} and {adj2} with {feature}.",
                "A {adj1} lady with {feature}.",
            ),
            "we": ("We are {adj1} and {adj2}.", "Two {adj1} ladies with {feature}."),
        },
        "location": {
            "1": (
                "You find me in {city}.",
                "Incall in {city}.",
                "Escort in {city} and around.",
                "Private place in {city}.",
                "Based in {city}.",
            ),
            "3": ("She receives in {city}.", "Escort from {city}.", "Available in {city} area."),
            "we": ("We receive in {city}.", "Together in {city}."),
        },
        "services": {
            "1": ("Services: {services}.", "I offer {services}.", "Possibilities: {services}."),
            "3": ("Services: {services}.", "She offers {services}."),
            "we": ("We offer {services}.", "Services: {services}."),
        },
        "hours": {
            "1": ("Hours: {hours}.", "Available {hours}.", "I work {hours}."),
            "3": ("Booking {hours}.", "Hours: {hours}."),
            "we": ("Available {hours}.",),
        },
        "contact": {
            "1": ("Call or text {phone}.", "Tel: {phone}", "WhatsApp {phone}", "SMS {phone}."),
            "3": ("Bookings: {phone}.", "Call {phone} to book.", "Tel. {phone}"),
            "we": ("Call or text us: {phone}.", "Tel: {phone}"),
        },
        "contact_nophone": {
            "1": (
                "Call or text the number above.",
                "Send me a message first.",
                "Contact me with the button.",
            ),
            "3": ("Call to book.", "Book via the number on this page."),
            "we": ("Call us on the number above.",),
        },
        "closing": {
            "1": (
                "See you soon!",
                "Kisses, {name}",
                "Greetings!",
                "Hope to hear from you.",
                "Bye!",
                "Love, {name}",
            ),
            "3": (
                "See you at {agency}.",
                "We look forward to your call.",
                "Kind regards, {agency}",
            ),
            "we": ("See you soon!", "Kisses from us!"),
        },
    },
}

# --- cue phrases (family A, INDICATORS.md 5a), evidence in [brackets] --------------------------
CUES: dict[str, dict[str, tuple[str, ...]]] = {
    "A01": {
        "nl": (
            "[Onze dames] ontvangen u graag.",
            "[Wij bieden] u een fijne tijd.",
            "[Zij is nieuw] bij ons.",
            "Bel voor [onze meiden].",
        ),
        "en": (
            "[My girls] are waiting for you.",
            "[She is new] here.",
            "[We offer] a great time.",
            "Ask for [our ladies].",
        ),
    },
    "A02": {
        "nl": (
            "Foto's zijn [100% echt].",
            "[Echte foto's]!",
            "[Geen nep], geen oplichting.",
            "Alles [100% echt] en eerlijk.",
            "[Echte foto's], ik ben wie ik zeg.",
        ),
        "en": (
            "[Real pics]!",
            "[100% real] photos.",
            "[No fake], what you see is what you get.",
            "Pictures are [100% real].",
        ),
    },
    "A03": {
        "nl": (
            "[Exotische] schoonheid.",
            "Een echte [{origin}] schoonheid.",
            "[Exotisch] en warm.",
        ),
        "en": ("[Exotic] beauty.", "A real [{origin}] beauty.", "Hot [{origin}] style."),
    },
    "A04": {
        "nl": (
            "[Jonge] meid.",
            "[Net 18] geworden.",
            "Een [jong] en fris gezicht.",
            "[Jong en nieuw] in dit werk.",
        ),
        "en": ("[Young] and sweet.", "[Fresh] face.", "[Young girl], new to this."),
    },
    "A05": {
        "nl": (
            "[24/7] bereikbaar.",
            "[Dag en nacht] voor je klaar.",
            "[Altijd beschikbaar].",
            "Ook 's nachts: [24/7].",
        ),
        "en": ("Available [24/7].", "[Day and night] for you.", "[Always available]."),
    },
    "A06": {
        "nl": ("[Alles mag], bespreek je wensen.", "[In voor alles]."),
        "en": ("[No limits].", "[Open to everything]."),
    },
    "A10": {
        "nl": ("[Actie] deze week!", "[All-in] prijs.", "Nu in de [aanbieding]."),
        "en": ("[Special offer] this week!", "[All-in] price."),
    },
    "A11": {
        "nl": ("Ik spreek [alleen Engels].", "[Only English] please."),
        "en": ("[Only English].",),
    },
    "A12": {
        "nl": (
            "[Nieuw in {city}]!",
            "[Alleen deze week] in {city}.",
            "[Net aangekomen] in {city}.",
            "[Laatste dagen] in {city}!",
            "[Nieuw in de stad].",
        ),
        "en": (
            "[New in town]!",
            "[Only this week] in {city}.",
            "[Just arrived] in {city}.",
            "[New in {city}]!",
            "[Last days] here!",
        ),
    },
    "A13": {
        "nl": (
            "[Alleen serieuze heren].",
            "[Geen anonieme nummers].",
            "[Geen sms], alleen bellen.",
            "[Hygiëne is een must].",
        ),
        "en": ("[Serious gentlemen only].", "[No private numbers].", "[No texting], call me."),
    },
    "A14": {
        "nl": (
            "Ontvangst in [hotel] bij het station.",
            "Ik zit in een [vakantiepark].",
            "Afspraak in het [hotel].",
        ),
        "en": ("Incall in [hotel] near the station.", "I stay in a [holiday park]."),
    },
    "A15": {
        "nl": ("[🌹🌹🌹]", "[🍒]", "[👑]", "[💗]", "[✈️] nieuw hier"),
        "en": ("[🌹🌹🌹]", "[🍒]", "[👑]", "[💗]", "[✈️] new here"),
    },
    "A16": {
        "nl": (
            "[Tikkie vooraf].",
            "[Alleen vooraf betalen].",
            "Betaling [alleen crypto].",
            "Eerst [aanbetaling via tikkie].",
        ),
        "en": ("[Deposit first].", "[Crypto only].", "[Pay in advance] please."),
    },
    "E02": {
        "nl": ("Bereikbaar [na schooltijd].", "Alleen [na school]."),
        "en": ("Available [after school].",),
    },
}

#: A09 sentences wrap an obfuscated phone; the whole number is the evidence.
A09_FRAMES: dict[str, tuple[str, ...]] = {
    "nl": ("Bel: [{phone}]", "Mijn nummer: [{phone}]", "App naar [{phone}]"),
    "en": ("Call: [{phone}]", "My number: [{phone}]", "Text [{phone}]"),
}

#: Titles. ``[...]`` again marks a cue; the cue id is given per title.
TITLES: dict[str, tuple[tuple[str, str | None], ...]] = {
    "nl": (
        ("{name} ({age})", None),
        ("Lieve {name} in {city}", None),
        ("{name} - {city}", None),
        ("Sexy {name}", None),
        ("{adj1} {name} uit {city}", None),
        ("{name}, {age} jaar", None),
        ("[Nieuw in {city}]: {name}", "A12"),
        ("{name} [100% echt]", "A02"),
        ("[Jonge] {name} ({age})", "A04"),
        ("{name} [24/7]", "A05"),
    ),
    "en": (
        ("{name} ({age})", None),
        ("Sweet {name} in {city}", None),
        ("{name} - {city}", None),
        ("Lovely {name}", None),
        ("{name}, {age} years", None),
        ("[New in town]: {name}", "A12"),
        ("{name} [real pics]", "A02"),
        ("[Young] {name} ({age})", "A04"),
        ("{name} [24/7]", "A05"),
    ),
}
TITLES_AGENCY: dict[str, tuple[tuple[str, str | None], ...]] = {
    "nl": (
        ("{agency}: {name}", None),
        ("{name} bij {agency}", None),
        ("[Nieuw bij ons]: {name}", "A01"),
        ("{agency} - {city}", None),
    ),
    "en": (
        ("{agency}: {name}", None),
        ("{name} at {agency}", None),
        ("[New with us]: {name}", "A01"),
    ),
}

DECOR_EMOJI: tuple[str, ...] = ("✨", "💋", "😘", "🔥", "😉", "💕", "☺️", "🥰")

AGENCY_WORDS: tuple[str, ...] = (
    "Velvet",
    "Lotus",
    "Amber",
    "Diamond",
    "Silk",
    "Orchidee",
    "Parel",
    "Royal",
    "Luna",
    "Venus",
    "Saffier",
    "Golden",
    "Tulp",
    "Aurora",
    "Bella",
)
AGENCY_KINDS: tuple[str, ...] = ("Escort", "Escortservice", "Privéhuis", "Club", "Dates")

#: Word substitutions for template edits (network texts change slightly between ads).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "lieve": ("leuke", "schattige"),
    "mooie": ("prachtige", "knappe"),
    "Bel": ("Bel of app", "Contact"),
    "heren": ("mannen", "jongens"),
    "graag": ("heel graag", "zeker"),
    "ontvang": ("ontvang je", "zie je"),
    "sweet": ("lovely", "cute"),
    "beautiful": ("gorgeous", "pretty"),
    "Call": ("Call or text", "Contact"),
    "gentlemen": ("guys", "men"),
    "snel": ("gauw", "zo"),
    "soon": ("later", "you"),
}
