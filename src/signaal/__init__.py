"""Signaal: explained signals of sexual exploitation from online ads, and a privacy-respecting
place for partners to register signals and coordinate follow-up."""

__version__ = "0.1.0"
