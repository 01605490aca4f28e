"""Card readers: pure frame parsers per protocol, UID forms, the reader thread, the wedge."""

from devices.cards.common import ParseResult
from devices.cards.reader import PROTOCOLS, CardReader, open_reader
from devices.cards.reader_events import ReaderEvent, ReaderStats
from devices.cards.uid import normalize_uid_text, uid_forms, uid_from_decimal
from devices.cards.wedge import KeyboardWedge

__all__ = [
    "PROTOCOLS",
    "CardReader",
    "KeyboardWedge",
    "ParseResult",
    "ReaderEvent",
    "ReaderStats",
    "normalize_uid_text",
    "open_reader",
    "uid_forms",
    "uid_from_decimal",
]
