# The two commands a newcomer needs: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_CHROMIUM := DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
APT_CJK_FONTS := DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-noto-cjk >/dev/null
# A snapshot as a person sees it: rsvg-convert makes a PNG of the SVG in the font it names (Fira
# Code), and zbarimg reads each QR code on it (tests/ui/test_snapshot_qr.py).
SNAPSHOT_DEBS := librsvg2-bin fonts-firacode
APT_SNAPSHOTS := DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(SNAPSHOT_DEBS) >/dev/null
# Devices: pyscard builds against libpcsclite (with swig); the PC/SC tests run a real pcscd
# with vsmartcard's virtual reader (vpcd); zbarimg scans the printed QR codes in the tests.
DEVICE_DEBS := libpcsclite-dev swig pcscd vsmartcard-vpcd python3-virtualsmartcard zbar-tools
APT_DEVICES := DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEVICE_DEBS) >/dev/null

# Under libfaketime (`faketime DATE make test`), a faked monotonic clock makes every
# Python lock wait with a timeout (queue.get(timeout=...)) block for ever: only the
# wall clock is moved. Each process the recipes start reads this when it loads; the
# suite's PYTHONPATH adds tests/faketime, whose sitecustomize works around libfaketime's
# broken absolute monotonic sleeps (it does nothing without libfaketime).
export FAKETIME_DONT_FAKE_MONOTONIC := 1
SUITE_ENV := PYTHONPATH=$(CURDIR)/tests/faketime$${PYTHONPATH:+:$$PYTHONPATH}

.PHONY: demo test test-anyday lint bench venv i18n clean snapshots

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
	dpkg -s $(DEVICE_DEBS) >/dev/null 2>&1 || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		{ $(APT_DEVICES) || { apt-get update -q >/dev/null && $(APT_DEVICES); }; }) || \
		echo "note: $(DEVICE_DEBS) not installed (pyscard needs libpcsclite-dev and swig to build)"
	$(BIN)/python -m pip install -q -e '.[dev,postgres]'
	@# Debian's chromium for the browser-desk test (tests/ui/test_web_desk.py); it skips without it.
	command -v chromium >/dev/null || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		{ $(APT_CHROMIUM) || { apt-get update -q >/dev/null && $(APT_CHROMIUM); }; }) || \
		echo "note: chromium not installed (the browser-desk test will skip)"
	@# Chinese glyphs for the report charts (kiosk/reports.py) and the report pages in Chromium.
	dpkg -s fonts-noto-cjk >/dev/null 2>&1 || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		{ $(APT_CJK_FONTS) || { apt-get update -q >/dev/null && $(APT_CJK_FONTS); }; }) || \
		echo "note: fonts-noto-cjk not installed (report charts draw Chinese labels as boxes)"
	dpkg -s $(SNAPSHOT_DEBS) >/dev/null 2>&1 || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		{ $(APT_SNAPSHOTS) || { apt-get update -q >/dev/null && $(APT_SNAPSHOTS); }; }) || \
		echo "note: $(SNAPSHOT_DEBS) not installed (snapshot QR codes cannot be scanned from PNGs)"
	@# The stamp takes pyproject.toml's time, not the clock's: under `faketime` a stamp in the
	@# future would hide the next change of dependencies.
	touch -r pyproject.toml $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/kiosk demo

# pytest exits 5 when it collected nothing; that is a failure of the suite, not a pass.
test: $(STAMP)
	@$(SUITE_ENV) $(BIN)/python -m pytest -q $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no tests were collected"; exit 1; fi; exit $$rc

# The suite once more on another day, more than a year away, late on the last day of a
# month (UTC; already the 1st in the estate's zone): nothing may depend on today's date.
# faketime (libfaketime) comes from Debian; it is installed here like chromium when missing.
ANYDAY ?= $(shell date -u -d "$$(date -u -d '+14 months' +%Y-%m-01) -1 day" '+%Y-%m-%d 23:59:00')
APT_FAKETIME := DEBIAN_FRONTEND=noninteractive apt-get install -y -q faketime >/dev/null

test-anyday: $(STAMP)
	@command -v faketime >/dev/null || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		{ $(APT_FAKETIME) || { apt-get update -q >/dev/null && $(APT_FAKETIME); }; }) || \
		{ echo "test-anyday needs faketime (Debian package faketime)"; exit 1; }
	@echo "the suite on $(ANYDAY) UTC"
	@$(SUITE_ENV) faketime '$(ANYDAY)' $(BIN)/python -m pytest -q $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no tests were collected"; exit 1; fi; exit $$rc

snapshots: $(STAMP)
	$(BIN)/python -m pytest tests/ui --snapshot-update $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	for b in startup cardtap receipt cardreader parking concurrency; do \
		$(BIN)/kiosk bench $$b --json || exit 1; done
	$(BIN)/kiosk bench concurrency --backend postgresql --think-ms 0 --json
	for db in sqlite postgresql; do \
		$(BIN)/kiosk simulate --soak 5000 --faults --backend $$db --json || exit 1; done

i18n: $(STAMP)
	$(BIN)/pybabel compile -d kiosk/i18n/locale -D kiosk

clean:
	rm -rf $(VENV) build *.egg-info
