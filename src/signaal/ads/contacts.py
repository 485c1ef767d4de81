"""Contact points (phones, e-mails, messenger handles, websites) from ad fields and ad text.

Phone numbers are found also when hidden from scrapers: spaced digits ("0 6 1 2 …"), letter O for
zero and l/I for one ("O6-l2…"), Dutch and English digit words ("nul zes een twee …",
"zero six …") and mixtures ("06 nul 9 …"). A candidate is a run of digit units that starts like a
phone number (``+``, ``00``, ``0`` or its disguises); it becomes a contact point only when
``phonenumbers`` (NL default region) considers it possible and, for Dutch numbers, it has the nine
digits of a Dutch national number. Prices, ages, dates, postcodes and times therefore do not turn
into phone numbers. Parsing is cached: numbers repeat across thousands of ads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

import phonenumbers

from signaal.ads.types import ContactKind, ContactPoint

DEFAULT_REGION = "NL"

_DIGIT_WORDS = {
    "nul": "0",
    "een": "1",
    "één": "1",
    "twee": "2",
    "drie": "3",
    "vier": "4",
    "vijf": "5",
    "zes": "6",
    "zeven": "7",
    "acht": "8",
    "negen": "9",
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_LETTER_DIGITS = {"o": "0", "O": "0", "l": "1", "I": "1"}

_WORD_ALTERNATIVES = "|".join(sorted(_DIGIT_WORDS, key=len, reverse=True))
_WORD_UNIT = rf"(?<![^\W\d_])(?:{_WORD_ALTERNATIVES})(?![^\W\d_])"
_LETTER_UNIT = r"(?<![^\W\d_])(?:[Oo]+|[lI])(?![^\W\d_])"
_UNIT = rf"(?:\d|{_LETTER_UNIT}|{_WORD_UNIT})"
_FIRST = rf"(?:0|{_LETTER_UNIT}|(?<![^\W\d_])(?:nul|zero|oh)(?![^\W\d_]))"
_SEP = r"[ \-./()\u00a0]{0,3}"
# A run of at least eight units that starts like a phone number: "+", or a zero (or its disguise)
# not glued to a preceding word or number.
_PHONE_RUN_RE = re.compile(
    rf"(?:\+[ ]?\d|(?<![^\W\d_])plus\s+{_UNIT}|(?<![\w+]){_FIRST})"
    rf"{_SEP}(?:{_UNIT}{_SEP}){{6,18}}{_UNIT}",
    re.IGNORECASE,
)
_UNIT_RE = re.compile(rf"\d+|{_LETTER_UNIT}|{_WORD_UNIT}", re.IGNORECASE)
_DATE_RE = re.compile(r"(?<!\d)\d{1,2}[-./]\d{1,2}[-./](?:19|20)\d{2}(?!\d)")
# Where a phone number can start; the full run pattern is tried only at these positions, which
# is several times faster than letting it scan every position of a long text.
_START_RE = re.compile(
    r"\+[ ]?\d|0|(?<![a-z])(?:o+|l|i)(?=[ \-./]{0,3}\d)|\b(?:nul|zero|oh|plus)\b", re.IGNORECASE
)
# Plain numbers (digits and separators only) are found by this cheap scan; the slow complete scan
# runs only when the text shows signs of disguised digits (letters next to digits, digit words).
_PLAIN_RUN_RE = re.compile(r"[+0][\d \-./()\u00a0]{7,40}")
_DISGUISE_RE = re.compile(r"\d[oli]|[oli]\d|nul|zero")
_SPACED_LETTER_DIGIT_RE = re.compile(r"[oli][ \-./]{1,3}\d")


def _looks_disguised(lowered: str) -> bool:
    """Letters or words standing for digits ("O6", "nul zes", "o 6 1 2"), not "Bel 06"."""
    if _DISGUISE_RE.search(lowered) or "plus " in lowered:
        return True
    for match in _SPACED_LETTER_DIGIT_RE.finditer(lowered):
        start = match.start()
        if start == 0 or not lowered[start - 1].isalpha():
            return True
    return False


_EMAIL_RE = re.compile(r"(?<![\w.+-])([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)", re.IGNORECASE)
_EMAIL_OBSCURED_RE = re.compile(
    r"(?<![\w.+-])([\w.+-]+)\s*[\[({]\s*(?:at|apenstaartje|@)\s*[\])}]\s*([\w-]+)"
    r"\s*[\[({]\s*(?:dot|punt|\.)\s*[\])}]\s*([a-z]{2,10})\b"
    r"|(?<![\w.+-])([\w.+-]+)\s+(?:at|apenstaartje)\s+([\w-]+)\s+(?:dot|punt)\s+"
    r"(nl|com|net|org|eu|be|de)\b",
    re.IGNORECASE,
)

_OBSCURED_EMAIL_HINTS = ("at]", "at)", "at}", "at ]", "at )", "@]", "@)", "apenstaartje")

_SERVICES = {
    "telegram": "telegram",
    "tg": "telegram",
    "t.me": "telegram",
    "whatsapp": "whatsapp",
    "wa": "whatsapp",
    "snapchat": "snapchat",
    "snap": "snapchat",
    "sc": "snapchat",
    "instagram": "instagram",
    "insta": "instagram",
    "ig": "instagram",
    "onlyfans": "onlyfans",
    "of": "onlyfans",
    "twitter": "twitter",
    "signal": "signal",
    "kik": "kik",
    "wechat": "wechat",
}
_SHORT_SERVICES = {"tg", "wa", "sc", "ig", "of"}
_HANDLE_RE = re.compile(
    r"(?<![\w.])(telegram|whatsapp|snapchat|instagram|insta|onlyfans|twitter|signal|kik|wechat"
    r"|snap|tg|wa|sc|ig|of)(\s*[:=]\s*|\s+)(@?)([a-z][a-z0-9_.]{2,31})(?<!\.)",
    re.IGNORECASE,
)
_HANDLE_URL_RE = re.compile(
    r"(?<![\w.])(?:https?://)?(?:www\.)?(t\.me|instagram\.com|onlyfans\.com|snapchat\.com/add"
    r"|twitter\.com|x\.com)/@?([a-z0-9_.]{3,32})(?<!\.)",
    re.IGNORECASE,
)
_WA_ME_RE = re.compile(r"wa\.me/(\+?\d{8,15})", re.IGNORECASE)
_BARE_HANDLE_RE = re.compile(r"(?<![\w.@+-])@([a-z][a-z0-9_.]{2,31})(?<!\.)", re.IGNORECASE)
_WEBSITE_RE = re.compile(
    r"(?<![\w@.-])(?:https?://)?(?:www\.)?((?:[a-z0-9-]+\.)+(?:nl|com|net|org|eu|be|de|info|xxx"
    r"|club|site|online|xyz|io))(?![\w-])(?:/\S*)?",
    re.IGNORECASE,
)
_TLD_HINT_RE = re.compile(
    r"\.(?:nl|com|net|org|eu|be|de|info|xxx|club|site|online|xyz|io)\b", re.IGNORECASE
)
_HANDLE_HOSTS = {"t.me", "instagram.com", "onlyfans.com", "snapchat.com", "twitter.com", "x.com"}


_LETTER_RE = re.compile(r"[^\W\d_]")
_DIGITS_RE = re.compile(r"\d+")


def _units(raw: str) -> list[tuple[str, int, int]]:
    """Digit groups of a candidate run as (digits, start, end); words and letters become digits."""
    if _LETTER_RE.search(raw) is None:
        # No letters, so no disguised units: only the plain digit groups (the common case).
        return [(match.group(), match.start(), match.end()) for match in _DIGITS_RE.finditer(raw)]
    groups: list[tuple[str, int, int]] = []
    for match in _UNIT_RE.finditer(raw):
        token = match.group()
        if token.isdigit():
            digits = token
        elif token in _LETTER_DIGITS or not token.strip("oO"):
            digits = "".join(_LETTER_DIGITS[char] for char in token)
        else:
            digits = _DIGIT_WORDS[token.lower()]
        groups.append((digits, match.start(), match.end()))
    return groups


@lru_cache(maxsize=200_000)
def canonical_phone(number: str, region: str = DEFAULT_REGION) -> str | None:
    """E.164 form of a plain digit string (``+`` allowed), or None when it is not a phone number.

    Dutch numbers need the nine digits of a national number (so dates and short codes fail);
    numbers of other countries need at least eight digits and to be possible for that country.
    """
    if region == "NL":
        # The common case without the (slow) parser: every nine-digit Dutch national number
        # that does not start with 0 is possible ("06 …", "020 …", "+31 6 …", "0031 6 …").
        national = _dutch_national(number)
        if national is not None:
            return "+31" + national
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    national = str(parsed.national_number)
    if parsed.country_code == 31:
        if len(national) != 9:
            return None
    elif len(national) < 8:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _dutch_national(number: str) -> str | None:
    for prefix in ("+31", "0031", "0"):
        if number.startswith(prefix):
            rest = number[len(prefix) :]
            if len(rest) == 9 and rest.isdigit() and rest[0] != "0":
                return rest
            return None
    return None


def _window_number(groups: list[tuple[str, int, int]], raw: str, i: int, j: int) -> str:
    """The digits to dial for groups i..j-1 (``+`` kept; "(0)" after a country code dropped)."""
    plus = i == 0 and _plus_before(raw, groups[i][1]) >= 0
    digits = "".join(g[0] for g in groups[i:j])
    if plus:
        # "+31 (0)6 …": the trunk zero in brackets is not dialled after the country code.
        if "(0)" in raw and len(groups) > 1 and groups[i + 1][0] == "0":
            digits = groups[i][0] + "".join(g[0] for g in groups[i + 2 : j])
        return "+" + digits
    return digits


@lru_cache(maxsize=200_000)
def _parse_run(raw: str) -> tuple[tuple[str, int, int, bool], ...]:
    """Phone numbers inside one candidate run: (E.164, start, end, obscured) with spans in ``raw``.

    The run may be longer than a number ("bel 06 91234567 of 06 …" or a price right after it), so
    windows of whole groups are tried, longest first, each starting like a phone number.
    """
    groups = _units(raw)
    dates = [m.span() for m in _DATE_RE.finditer(raw)] if len(raw) >= 8 else []
    found: list[tuple[str, int, int, bool]] = []
    i = 0
    while i < len(groups):
        best: tuple[str, int] | None = None
        if _starts_like_phone(groups, raw, i):
            total = 0
            ends = []
            for j in range(i + 1, len(groups) + 1):
                total += len(groups[j - 1][0])
                if total > 15:
                    break
                if total >= 8:
                    ends.append(j)
            international = i == 0 and _plus_before(raw, groups[i][1]) >= 0
            first = groups[i][0]
            for j in reversed(ends):
                if not international and not first.startswith("00") and _digits(groups, i, j) != 10:
                    continue  # a national number written with a 0 has ten digits
                if dates and _overlaps((groups[i][1], groups[j - 1][2]), dates):
                    continue
                canonical = canonical_phone(_window_number(groups, raw, i, j))
                if canonical is not None:
                    best = (canonical, j)
                    break
        if best is None:
            i += 1
            continue
        canonical, j = best
        start = groups[i][1]
        plus_at = _plus_before(raw, start) if i == 0 else -1
        obscured = _is_obscured(groups[i:j], raw)
        if plus_at >= 0:
            # The word "plus", or a country code split over groups ("+3.45.91…"), hides it.
            country = _country_code(canonical)
            obscured = obscured or raw[plus_at] != "+" or len(groups[i][0]) < len(str(country))
            start = plus_at
        end = groups[j - 1][2]
        found.append((canonical, start, end, obscured))
        i = j
    return tuple(found)


@lru_cache(maxsize=100_000)
def _country_code(canonical: str) -> int | None:
    """The country calling code of an E.164 number (cached: numbers repeat across ads).

    Calling codes are prefix-free, so the first one to three digits that form a known code are
    it (as ``phonenumbers.parse`` finds it, without the rest of its slow parsing).
    """
    digits = canonical[1:] if canonical.startswith("+") else ""
    for length in range(1, 4):
        code = digits[:length]
        if len(code) == length and code.isdigit() and int(code) in _KNOWN_COUNTRY_CODES:
            return int(code)
    return phonenumbers.parse(canonical).country_code


_KNOWN_COUNTRY_CODES = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def _digits(groups: list[tuple[str, int, int]], i: int, j: int) -> int:
    return sum(len(g[0]) for g in groups[i:j])


def _plus_before(raw: str, start: int) -> int:
    """Where a "+" (or the word "plus") right before ``start`` begins, or -1."""
    before = raw[:start].rstrip()
    if before.endswith("+"):
        return len(before) - 1
    if before.lower().endswith("plus") and (len(before) == 4 or not before[-5].isalpha()):
        return len(before) - 4
    return -1


def _starts_like_phone(groups: list[tuple[str, int, int]], raw: str, i: int) -> bool:
    if groups[i][0].startswith("0"):
        return True
    return i == 0 and _plus_before(raw, groups[i][1]) >= 0


def _is_obscured(groups: list[tuple[str, int, int]], raw: str) -> bool:
    """Written to dodge scrapers: digit words, letters for digits, or spaced single digits."""
    for _digits, start, end in groups:
        if not raw[start:end].isdigit():
            return True
    singles = sum(1 for digits, _s, _e in groups if len(digits) == 1)
    return singles >= 4


def find_phones(text: str, lowered: str | None = None) -> list[tuple[str, int, int, bool]]:
    """Phone numbers in free text: (E.164, start, end, obscured), spans into ``text``."""
    found: list[tuple[str, int, int, bool]] = []
    if not text:
        return found
    lowered = text.lower() if lowered is None else lowered
    if _looks_disguised(lowered):
        starts: Iterable[int] = (m.start() for m in _START_RE.finditer(text))
    else:
        starts = _plain_starts(text)
    position = 0
    for start in starts:
        if start < position:
            continue
        run = _PHONE_RUN_RE.match(text, start)
        if run is None:
            continue
        offset = run.start()
        numbers = _parse_run(run.group())
        for canonical, begin, end, obscured in numbers:
            found.append((canonical, offset + begin, offset + end, obscured))
        # A run stops after a fixed number of digit units, possibly inside the next number
        # ("06-… O6.1O.… 06-…"): the scan goes on after the last number found, not after the
        # run, so that number is found from its own start.
        position = offset + numbers[-1][2] if numbers else run.end()
    return found


def _plain_starts(text: str) -> Iterator[int]:
    for match in _PLAIN_RUN_RE.finditer(text):
        first, last = match.span()
        if text[first] == "+":
            yield first
            first += 1  # a number after this one in the same run starts with its own 0
        for index in range(first, last):
            if text[index] == "0" and (index == 0 or not (text[index - 1].isalnum())):
                yield index


def find_emails(text: str, lowered: str | None = None) -> Iterator[tuple[str, int, int, bool]]:
    """E-mail addresses, also "naam [at] domein [dot] nl": (value, start, end, obscured)."""
    if "@" in text:
        for match in _EMAIL_RE.finditer(text):
            value = f"{match.group(1)}@{match.group(2)}".lower().strip(".")
            yield value, match.start(), match.end(), False
    lowered = text.lower() if lowered is None else lowered
    if any(hint in lowered for hint in _OBSCURED_EMAIL_HINTS) or (
        " at " in lowered and (" dot " in lowered or " punt " in lowered)
    ):
        for match in _EMAIL_OBSCURED_RE.finditer(text):
            parts = match.groups()
            local, domain, tld = parts[:3] if parts[0] else parts[3:]
            yield f"{local}@{domain}.{tld}".lower(), match.start(), match.end(), True


def _canonical_handle(service: str, name: str) -> str:
    return f"{_SERVICES.get(service.lower(), service.lower())}:{name.lower().lstrip('@')}"


_HANDLE_HINTS = (
    "telegram",
    "whatsapp",
    "snap",
    "insta",
    "onlyfans",
    "twitter",
    "signal",
    "kik",
    "wechat",
    "t.me",
    "x.com",
)
_SHORT_HANDLE_HINT_RE = re.compile(r"\b(?:tg|wa|sc|ig|of)\s*[:=]", re.IGNORECASE)


def _may_have_handle(text: str, lowered: str) -> bool:
    if any(hint in lowered for hint in _HANDLE_HINTS):
        return True
    return _short_handle_hint(text)


def _short_handle_hint(text: str) -> bool:
    """``_SHORT_HANDLE_HINT_RE.search(text)``, tried only where a ":" or "=" is (few places)."""
    for mark in ":=":
        position = text.find(mark)
        while position >= 0:
            # The service code must end where the white space before the mark begins.
            end = position
            while end > 0 and text[end - 1].isspace():
                end -= 1
            if end >= 2 and _SHORT_HANDLE_HINT_RE.match(text, end - 2):
                return True
            position = text.find(mark, position + 1)
    return False


def find_handles(text: str, lowered: str | None = None) -> Iterator[tuple[str, int, int]]:
    """Messenger handles: ``service:name`` (``unknown:name`` for a bare ``@name``)."""
    taken: list[tuple[int, int]] = []
    if not _may_have_handle(text, text.lower() if lowered is None else lowered):
        if "@" in text:
            for match in _BARE_HANDLE_RE.finditer(text):
                if is_handle_name(match.group(1)):
                    yield f"unknown:{match.group(1).lower()}", match.start(), match.end()
        return
    for match in _HANDLE_URL_RE.finditer(text):
        host = match.group(1).lower().split("/")[0]
        service = {"t.me": "telegram", "x.com": "twitter"}.get(host, host.split(".")[0])
        taken.append(match.span())
        yield f"{service}:{match.group(2).lower()}", match.start(), match.end()
    for match in _HANDLE_RE.finditer(text):
        service, separator, at, name = match.groups()
        explicit = ":" in separator or "=" in separator
        if service.lower() in _SHORT_SERVICES and not explicit:
            continue  # "of", "wa", "sc" are ordinary words unless followed by ":" or "="
        if not at and ":" not in separator and "=" not in separator and name.lower() in _STOP:
            continue
        if not is_handle_name(name):
            continue  # "WhatsApp nul zes …", "WA: nul-zes …", "telegram mee": a number follows
        if _overlaps(match.span(), taken):
            continue
        taken.append(match.span())
        yield _canonical_handle(service, name), match.start(), match.end()
    if "@" in text:
        for match in _BARE_HANDLE_RE.finditer(text):
            if _overlaps(match.span(), taken) or not is_handle_name(match.group(1)):
                continue
            yield f"unknown:{match.group(1).lower()}", match.start(), match.end()


# Words that follow a service name in a sentence without being a handle ("via whatsapp bellen").
_STOP = frozenset(
    re.split(
        r"\s+",
        "en of is ook bellen sturen appen contact me mij only alleen and or bel app call text "
        "message for voor naar to the de het een mee op via nu met bij mijn my on at in or",
    )
)
# Words that are never a handle in any position, even after "service:": pronouns and
# prepositions ("WA: mij", "telegram: op nummer …").
_NEVER_HANDLE = frozenset(
    re.split(r"\s+", "me mij mee op of en naar via nu met bij mijn my on to de het een and or")
)
# A name spelled only with digits and digit words ("nul", "nulzes", "zes4nul", "one_two") is
# the start of a disguised phone number, not a messenger handle.
_DIGIT_NAME_RE = re.compile(
    rf"(?:\d|[_.]|{_WORD_ALTERNATIVES})+",
    re.IGNORECASE,
)


def is_handle_name(name: str) -> bool:
    """Whether ``name`` (without service or ``@``) can be a messenger handle.

    Digit words, names made only of digits and digit words, and stop words ("me", "mij", "op",
    "naar", ...) are not handles, in any case and after any separator.
    """
    bare = name.strip().lstrip("@").lower()
    if not bare or bare in _NEVER_HANDLE:
        return False
    return _DIGIT_NAME_RE.fullmatch(bare) is None


def _overlaps(span: tuple[int, int], taken: Iterable[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def find_websites(
    text: str, exclude: Iterable[tuple[int, int]] = ()
) -> Iterator[tuple[str, int, int]]:
    """Web addresses as lower-case host names without ``www.``; e-mail domains are excluded."""
    if not _TLD_HINT_RE.search(text):
        return
    excluded = list(exclude)
    for match in _WEBSITE_RE.finditer(text):
        host = match.group(1).lower()
        if host in _HANDLE_HOSTS or _overlaps(match.span(), excluded):
            continue
        yield host, match.start(), match.end()


@lru_cache(maxsize=100_000)
def contacts_in_text(text: str, source: str) -> tuple[ContactPoint, ...]:
    """Every contact point in one text field, in order of appearance.

    Cached: reposted ads repeat their text word for word.
    """
    found: list[ContactPoint] = []
    if not text:
        return ()
    lowered = text.lower()
    phone_spans: list[tuple[int, int]] = []
    for value, start, end, obscured in find_phones(text, lowered):
        phone_spans.append((start, end))
        found.append(ContactPoint(ContactKind.PHONE, value, source, obscured, (start, end)))
    for value, start, end in _wa_me(text):
        found.append(ContactPoint(ContactKind.PHONE, value, source, False, (start, end)))
    email_spans: list[tuple[int, int]] = []
    for value, start, end, obscured in find_emails(text, lowered):
        email_spans.append((start, end))
        found.append(ContactPoint(ContactKind.EMAIL, value, source, obscured, (start, end)))
    handle_spans: list[tuple[int, int]] = []
    for value, start, end in find_handles(text, lowered):
        if _overlaps((start, end), email_spans):
            continue
        handle_spans.append((start, end))
        found.append(ContactPoint(ContactKind.HANDLE, value, source, False, (start, end)))
    if "." in text:
        for value, start, end in find_websites(text, email_spans + handle_spans):
            found.append(ContactPoint(ContactKind.WEBSITE, value, source, False, (start, end)))
    found.sort(key=lambda c: (c.span or (0, 0), c.kind.value))
    return tuple(found)


def _wa_me(text: str) -> Iterator[tuple[str, int, int]]:
    if "wa.me" not in text.lower():
        return
    for match in _WA_ME_RE.finditer(text):
        number = match.group(1)
        canonical = canonical_phone(number if number.startswith("+") else "+" + number)
        if canonical:
            yield canonical, match.start(), match.end()


@lru_cache(maxsize=200_000)
def phone_from_field(raw: str) -> tuple[str, bool] | None:
    """The canonical phone number of a ``phones`` field value (displayed form), and if obscured."""
    numbers = find_phones(raw)
    if numbers:
        return numbers[0][0], numbers[0][3]
    digits = re.sub(r"[^\d+]", "", raw)
    canonical = canonical_phone(digits) if digits else None
    return (canonical, False) if canonical else None


def email_from_field(raw: str) -> str | None:
    emails = list(find_emails(raw))
    if emails:
        return emails[0][0]
    value = raw.strip().lower()
    return value if re.fullmatch(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", value) else None


def handle_from_field(raw: str) -> str | None:
    """``service:name`` of a ``handles`` field value such as "telegram:@name" or "@name"."""
    value = raw.strip()
    if not value:
        return None
    url = _HANDLE_URL_RE.search(value)
    if url:
        host = url.group(1).lower().split("/")[0]
        service = {"t.me": "telegram", "x.com": "twitter"}.get(host, host.split(".")[0])
        return f"{service}:{url.group(2).lower()}"
    service, colon, name = value.partition(":")
    if colon and service.strip() and name.strip():
        name = name.strip().lstrip("@").strip()
        return _canonical_handle(service.strip(), name) if is_handle_name(name) else None
    name = value.lstrip("@").strip()
    return f"unknown:{name.lower()}" if name and is_handle_name(name) else None
