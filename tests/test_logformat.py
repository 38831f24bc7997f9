"""Node log records: JSON lines with the exchange's fields, the same rendered for people."""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path

import pytest

from sandbox.cli.logview import Tail, existing_lines
from sandbox.runtime.logformat import JsonFormatter, PrettyFormatter, parse_line, render_pretty


def _record(level: int = logging.INFO, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("gsp.exchange")
    return logger.makeRecord(
        "gsp.exchange", level, __file__, 1, "GET %s -> %d", ("/apiX/1.0/a", 200), None, extra=extra
    )


def test_a_json_line_carries_the_fixed_fields_and_every_extra() -> None:
    line = JsonFormatter("lgsp-bac-giang").format(
        _record(message_id="m1", consumer="motcua", status=200, duration_ms=1.5, skipped=None)
    )
    fields = json.loads(line)
    assert fields["node"] == "lgsp-bac-giang"
    assert fields["level"] == "info" and fields["logger"] == "gsp.exchange"
    assert fields["message"] == "GET /apiX/1.0/a -> 200"
    assert fields["message_id"] == "m1" and fields["status"] == 200
    assert fields["time"].endswith("+00:00")
    assert "skipped" not in fields  # a field with no value is left out, not null
    assert "\n" not in line
    assert parse_line(line) == fields


def test_an_exception_stays_inside_its_json_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info()
        )
    line = JsonFormatter("ngsp").format(record)
    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exception"]


def test_pretty_puts_time_node_level_message_then_the_message_id_first() -> None:
    text = PrettyFormatter("ngsp").format(
        _record(status=200, consumer="lgsp", message_id="m1", zone="x")
    )
    assert text[2] == ":" and text[12] == " "  # HH:MM:SS.mmm
    head, tail = text.split("  message_id=")
    assert head.split()[1:3] == ["ngsp", "INFO"]
    assert tail.startswith("m1 consumer=lgsp status=200") and tail.endswith("zone=x")


@pytest.mark.parametrize("text", ["", "Traceback (most recent call last):", "{not json", "[1]"])
def test_other_lines_are_not_records(text: str) -> None:
    assert parse_line(text) is None


def test_render_of_a_record_without_time_or_extras() -> None:
    assert render_pretty({"message": "hello", "node": "n", "level": "warning"}).endswith(
        "n                      WARNING hello"
    )


def test_a_tail_returns_complete_lines_only_and_restarts_after_truncation(tmp_path: Path) -> None:
    path = tmp_path / "ngsp.log"
    path.write_text('{"message": "a", "time": "1"}\n{"message": "b"')
    tail = Tail("ngsp", path)
    assert [line.text for line in tail.read()] == ['{"message": "a", "time": "1"}']
    with path.open("a") as f:
        f.write(', "time": "2"}\nplain text\n')
    lines = tail.read()
    assert [line.fields["message"] if line.fields else line.text for line in lines] == [
        "b",
        "plain text",
    ]
    path.write_text("new\n")
    assert [line.text for line in tail.read()] == ["new"]


def test_lines_of_all_nodes_in_time_order_an_untimed_line_after_its_record(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.log").write_text(
        '{"message": "a1", "time": "10:00:01"}\nTraceback: a1 failed\n'
        '{"message": "a2", "time": "10:00:03"}\n'
    )
    (tmp_path / "b.log").write_text('{"message": "b1", "time": "10:00:02"}\n')
    lines, _ = existing_lines({"a": tmp_path / "a.log", "b": tmp_path / "b.log"}, 0, None)
    assert [line.render(pretty=False) for line in lines][1] == "Traceback: a1 failed"
    assert [(line.fields or {}).get("message") for line in lines] == ["a1", None, "b1", "a2"]
    last_two, _ = existing_lines({"a": tmp_path / "a.log", "b": tmp_path / "b.log"}, 2, None)
    assert [(line.fields or {}).get("message") for line in last_two] == ["b1", "a2"]


def test_configured_logging_writes_json_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    from sandbox.runtime.logformat import configure_logging

    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging("population", "info", "json")
        logging.getLogger("gsp.backend").info("GET /congDan -> 200", extra={"message_id": "m"})
        logging.getLogger("httpx").info("health check noise")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(r["node"], r["message_id"]) for r in lines] == [("population", "m")]


def test_pretty_format_and_the_level_are_honoured() -> None:
    from sandbox.runtime.logformat import configure_logging

    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging("n", "warning", "pretty")
        handler = root.handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        assert isinstance(handler.formatter, PrettyFormatter)
        handler.stream = io.StringIO()
        logging.getLogger("gsp.exchange").info("dropped at warning")
        assert handler.stream.getvalue() == ""
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_uvicorns_coloured_copy_of_a_message_is_dropped() -> None:
    record = logging.getLogger("uvicorn.error").makeRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        "Started server process [%d]",
        (42,),
        None,
        extra={"color_message": "Started server process [\x1b[36m%d\x1b[0m]"},
    )
    for formatter in (JsonFormatter("ngsp"), PrettyFormatter("ngsp")):
        line = formatter.format(record)
        assert "color_message" not in line and "\x1b" not in line and "\\u001b" not in line
        assert "Started server process [42]" in line


def test_control_characters_from_a_caller_are_written_visibly_on_one_line() -> None:
    # A path a caller chose: a colour code and a forged second log line.
    path = "/apiX/1.0/\x1b[31mred\r\nFAKE 200\x9b"
    record = _record(message_id="m1", service="apiX/1.0", note="a\x07b")
    record.args = (path, 404)
    line = JsonFormatter("lgsp").format(record)
    assert "\\u001b" not in line and "\\r" not in line and "\\n" not in line
    fields = json.loads(line)
    assert fields["message"] == "GET /apiX/1.0/\\x1b[31mred\\x0d\\x0aFAKE 200\\x9b -> 404"
    assert fields["note"] == "a\\x07b"
    text = PrettyFormatter("lgsp").format(record)
    assert "\x1b" not in text and "\n" not in text and "\x9b" not in text
    assert "\\x1b[31mred" in text


def test_pretty_rendering_of_an_older_file_is_plain_too() -> None:
    # Lines written before logs were made plain still reach a terminal through --pretty.
    old = json.dumps(
        {
            "time": "2026-01-01T00:00:00.000+00:00",
            "level": "info",
            "node": "ngsp",
            "logger": "uvicorn.error",
            "message": "Started \x1b[1mserver\x1b[0m",
            "color_message": "\x1b[36mStarted\x1b[0m",
            "exception": "Traceback\n  line \x1b[31m1\x1b[0m",
        }
    )
    fields = parse_line(old)
    assert fields is not None
    text = render_pretty(fields)
    assert "\x1b" not in text and "color_message" not in text
    assert text.count("\n") == 2  # the traceback keeps its own lines
