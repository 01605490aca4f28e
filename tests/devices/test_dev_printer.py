"""The printer adapter against simulated printers on real ptys (and TCP), faults included."""

from __future__ import annotations

import threading

import pytest

from devices.printer import PrinterError, PrinterNotReady, Receipt, decode_status, open_printer
from devices.printer.status import encode_answers
from devices.receipt_decode import decode_escpos
from devices.sim import SimPrinter, SimTcpPrinter, get_sim


def slip() -> Receipt:
    return Receipt().title("取件凭条").row("取件码", "8F3K2").qr("https://k.example/8F3K2").cut()


def sim_printer(name: str = "printer", url: str = "sim://printer?paper=58&timeout=0.1"):
    printer = open_printer(url, name=name)
    sim = get_sim(name)
    assert isinstance(sim, SimPrinter)
    return printer, sim


def test_a_healthy_printer_prints_and_confirms_the_job() -> None:
    printer, sim = sim_printer()
    assert printer.status().ready
    result = printer.print_receipt(slip())
    assert result.confirmed and result.status and result.status.ready
    decoded = decode_escpos(sim.take())
    assert "取件凭条" in decoded.lines and decoded.qr_codes == ["https://k.example/8F3K2"]
    assert decoded.status_queries >= 2  # checked before, confirmed after


@pytest.mark.parametrize(
    ("fault", "flag"),
    [("paper_out", "paper_out"), ("cover_open", "cover_open"), ("error", "error")],
)
def test_a_faulted_printer_refuses_the_job_and_nothing_is_sent(fault: str, flag: str) -> None:
    printer, sim = sim_printer()
    sim.set_fault(fault)
    status = printer.status()
    assert not status.ready and getattr(status, flag)
    assert status.reason
    sim.take()
    with pytest.raises(PrinterNotReady) as err:
        printer.print_receipt(slip())
    assert err.value.status is not None and getattr(err.value.status, flag)
    assert decode_escpos(sim.take()).lines == []  # only status queries went out
    sim.clear_faults()
    assert printer.print_receipt(slip()).confirmed


def test_paper_near_end_still_prints_but_says_so() -> None:
    printer, sim = sim_printer()
    sim.set_fault("paper_near_end")
    status = printer.status()
    assert status.ready and status.paper_near_end and "near end" in status.reason
    assert printer.print_receipt(slip()).confirmed


def test_an_offline_printer_gives_no_answer_and_reads_as_offline() -> None:
    printer, sim = sim_printer()
    sim.set_fault("offline")
    status = printer.status()
    assert status.offline and not status.ready
    assert "no answer" in status.reason
    with pytest.raises(PrinterNotReady):
        printer.print_receipt(slip())
    # Sent without the check: delivered to the port, but not confirmed.
    result = printer.send(b"\x1b@hello\n")
    assert not result.confirmed and "no answer" in result.detail


def test_a_stale_byte_in_the_input_is_not_taken_as_the_answer() -> None:
    printer, sim = sim_printer()
    sim.set_fault("offline")
    sim.write(b"\x12")  # a stray "ready" byte sits in the input buffer
    assert not printer.status().ready


def test_a_slow_9600_baud_wire_still_delivers_the_whole_job() -> None:
    printer, sim = sim_printer()
    sim.slow = True
    data = b"\x1b@" + b"x" * 200 + b"\n"
    result = printer.send(data)
    assert result.confirmed
    assert sim.received.startswith(data)


def test_unplugging_mid_job_raises_a_clear_error_and_the_job_is_not_complete() -> None:
    printer, sim = sim_printer()
    sim.slow = True  # the job is still on the wire when the cable goes
    sim.unplug_after = 300
    data = b"\x1b@" + bytes(range(32, 127)) * 60
    with pytest.raises(PrinterError) as err:
        printer.send(data)
    assert "printer 'printer'" in str(err.value)
    assert err.value.bytes_sent < len(data) or "lost" in str(err.value)
    assert len(sim.received) < len(data)
    # Unplugged: status says so instead of hanging; plugged back in: works again.
    assert not printer.status().ready
    sim.plug()
    assert printer.status().ready
    assert printer.send(b"\x1b@ok\n").confirmed


def test_sending_to_an_unplugged_printer_sends_nothing() -> None:
    printer, sim = sim_printer()
    sim.unplug()
    with pytest.raises(PrinterError) as err:
        printer.print_receipt(slip(), check=False)
    assert err.value.bytes_sent == 0
    assert "could not send" in str(err.value)


def test_status_queries_are_serialised_between_threads() -> None:
    printer, sim = sim_printer()
    results = []
    threads = [threading.Thread(target=lambda: results.append(printer.status())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(s.ready for s in results) and len(results) == 8


def test_a_network_printer_over_tcp() -> None:
    sim = SimTcpPrinter().start()
    try:
        printer = open_printer(sim.url + "?timeout=0.2", name="lobby")
        assert printer.status().ready
        assert printer.print_receipt(slip()).confirmed
        sim.paper_out = True
        assert printer.status().paper_out
        sim.offline = True
        assert printer.status().offline
        printer.close()
    finally:
        sim.stop()


def test_a_network_printer_that_is_not_there_is_offline_quickly() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    printer = open_printer(f"tcp://127.0.0.1:{port}", name="gone", connect_timeout=0.2)
    status = printer.status()
    assert status.offline and "not reachable" in status.reason
    with pytest.raises(PrinterError):
        printer.send(b"x")


@pytest.mark.parametrize(
    "state",
    [{}, {"paper_out": True}, {"cover_open": True}, {"paper_near_end": True}, {"error": True}],
)
def test_status_bits_decode_to_what_the_printer_meant(state: dict[str, bool]) -> None:
    answers = encode_answers(**state)
    status = decode_status(answers[1], answers[2], answers[3], answers[4])
    for key, value in state.items():
        assert getattr(status, key) is value
    assert status.ready == (not state or state == {"paper_near_end": True})


def test_a_non_status_byte_is_an_error_not_ready() -> None:
    assert decode_status(0xFF).error
    assert decode_status(None).offline
