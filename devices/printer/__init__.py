"""Receipt printers: the document model, our ESC/POS encoder, status queries and the adapter."""

from devices.printer.adapter import (
    Printer,
    PrinterError,
    PrinterNotReady,
    SendResult,
    open_printer,
    wait_ready,
)
from devices.printer.escpos import encode_text, render_escpos
from devices.printer.receipt import (
    PAPER_COLUMNS,
    REPRINT_BANNER,
    Column,
    Receipt,
    ReceiptError,
    columns_for,
    render_text,
)
from devices.printer.status import PrinterStatus, decode_status, query_status

__all__ = [
    "PAPER_COLUMNS",
    "REPRINT_BANNER",
    "Column",
    "Printer",
    "PrinterError",
    "PrinterNotReady",
    "PrinterStatus",
    "Receipt",
    "ReceiptError",
    "SendResult",
    "columns_for",
    "decode_status",
    "encode_text",
    "open_printer",
    "query_status",
    "render_escpos",
    "render_text",
    "wait_ready",
]
