"""The one masked form of a contact point, for people to read where the value itself may not go.

Contact points leave Signaal only as keyed pseudonyms (``phone:3f9a…``, for matching) or in this
masked form (for reading): enough to tell two numbers apart on a page, never enough to call or
write to anyone. The masked form is made from the canonical value, so every way a number was
written ("O6.94.32.09.89", "nul zes negen …", "+31 6 …") masks the same:

    phone    +31694320989        -> 06-•••••89     (Dutch: trunk prefix and the last two digits)
             +32470123456        -> +32-•••••56    (other countries: country code, last two)
    e-mail   anna.b@example.nl   -> a•••••@•••••.nl
    handle   telegram:sweetanna  -> telegram:s•••••
    website  anna-escort.nl      -> •••••.nl

The number of dots is fixed, so the mask does not tell the length of what it hides. In free
text a masked contact point is written in brackets (``[06-•••••89]``), so that a reader sees
that something was taken out.
"""

from __future__ import annotations

HIDDEN = "•••••"


def masked_contact(kind: str, value: str) -> str:
    """The masked form of a canonical contact point of ``kind`` (phone, email, handle, website)."""
    if kind == "phone":
        return _masked_phone(value)
    if kind == "email":
        local, _, domain = value.rpartition("@")
        tld = domain.rpartition(".")[2] if "." in domain else ""
        return f"{local[:1]}{HIDDEN}@{HIDDEN}" + (f".{tld}" if tld else "")
    if kind == "handle":
        service, colon, name = value.partition(":")
        if not colon:
            return f"{value[:1]}{HIDDEN}"
        return f"{service}:{name.lstrip('@')[:1]}{HIDDEN}"
    if kind == "website":
        tld = value.rpartition(".")[2] if "." in value else ""
        return HIDDEN + (f".{tld}" if tld else "")
    return HIDDEN


def _masked_phone(value: str) -> str:
    digits = "".join(char for char in value if char.isdigit())
    last = digits[-2:] if len(digits) > 6 else ""
    if value.startswith("+31") and len(digits) > 3:
        return f"0{digits[2]}-{HIDDEN}{last}"
    if value.startswith("+") and len(digits) > 4:
        # Country codes have one to three digits; two are shown whatever their length, so a
        # mask never shows more than four digits of a number.
        return f"+{digits[:2]}-{HIDDEN}{last}"
    return f"{HIDDEN}{last}"


def masked_in_text(kind: str, value: str) -> str:
    """The masked form as it replaces a contact point inside free text: ``[06-•••••89]``."""
    return f"[{masked_contact(kind, value)}]"
