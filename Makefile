# Porthole: `make run` and `make test` on a fresh Debian 12 / Ubuntu 22.04+ machine.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := run

APP := target/debug/porthole-desktop
BINDINGS := ui/src/lib/backend/bindings.ts ui/src/lib/backend/providers.ts ui/src/lib/backend/vocabulary.ts ui/src/lib/backend/replays.ts

# The scripted test provider (crates/porthole-providers/src/scripted/) is compiled into what the
# checks build: the same features for clippy, the Rust tests, the app the end-to-end suite drives
# and the package it installs, so nothing is compiled twice. `make run` and `make package` leave
# it out: no build a person runs has it.
APP_FEATURES ?=
comma := ,
test clippy bindings rust-test e2e package-debug package-test: APP_FEATURES := --features scripted

# Smaller, faster debug builds on small machines (no debug info: half the target folder).
export CARGO_PROFILE_DEV_DEBUG ?= 0
export CARGO_TERM_COLOR ?= never

.PHONY: run test deps deps-run ui ui-web build fmt clippy check-crates bindings rust-test netns-test slurm-test \
        ui-check ui-test web-e2e e2e package package-debug package-test clean icons bench-proxy bench-app bench-tunnel bench-slurm

## The two commands ##########################################################################

run: deps-run build ## Install what is missing, build, and start the app on the embedded default.
	@if [ -z "$${DISPLAY:-}" ] && [ -z "$${WAYLAND_DISPLAY:-}" ]; then \
	  echo "make run: no display. On a headless machine use:"; \
	  echo "  xvfb-run -a -s '-screen 0 1280x800x24' make run"; \
	  exit 1; \
	fi
	$(APP)

test: deps ui fmt clippy check-crates bindings rust-test netns-test slurm-test ui-check ui-test web-e2e build e2e package-test ## Every check, stopping at the first failure.
	@echo "make test: all checks passed"

## Steps #####################################################################################

deps: ## Debian packages, npm dependencies (npm ci), tauri-driver.
	scripts/install-deps.sh

deps-run:
	scripts/install-deps.sh --run-only

ui: ## Build the UI that the app embeds (ui/dist).
	npm --prefix ui run build --silent

ui-web: ## Build the UI for the browser with the mock backend (ui/dist-web).
	npm --prefix ui run build:web --silent

build: ui ## Build the desktop app.
	cargo build -p porthole-desktop $(APP_FEATURES)

fmt:
	cargo fmt --all -- --check

clippy: ui
	cargo clippy --workspace --all-targets --features porthole-desktop/scripted,porthole-cli/scripted -- -D warnings

check-crates:
	scripts/check-crates-without-tauri.sh
	scripts/check-no-outside-refs.sh
	scripts/check-shell-imports.py
	scripts/check-no-provider-names.py --self-test
	scripts/check-no-provider-names.py

bindings: ui ## Regenerate the typed IPC bindings and fail if the committed file differs.
	cargo test -q -p porthole-desktop --lib $(APP_FEATURES) tests::export_bindings
	git ls-files --error-unmatch $(BINDINGS) >/dev/null
	git diff --exit-code -- $(BINDINGS)

rust-test: ui ## The Rust tests, inside a D-Bus session with a real (fresh) Secret Service.
	@# The Secret Service owns its bus name before the command starts (when it did not, a test that
	@# came first had D-Bus start a second daemon, and CI failed: scripts/with-keyring.sh).
	@scripts/with-keyring.sh dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
	  org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets | grep -q "boolean true" || \
	  { echo "rust-test: the Secret Service was not up when the command started" >&2; exit 1; }
	scripts/with-keyring.sh cargo test --workspace --features porthole-desktop/scripted,porthole-cli/scripted

ui-check:
	npm --prefix ui run check

ui-test:
	npm --prefix ui run test

web-e2e: ## Playwright against the web build with the mock backend, in Debian's Chromium.
	npm --prefix ui run test:e2e

netns-test: ## portholed on a second machine (a network namespace): pair, launch, forward through the TLS tunnel, a link drop.
	tests/netns/run.sh

slurm-test: ## portholed's Slurm backend on a real one-node Slurm cluster started for it (and stopped after).
	tests/slurm/run.sh

e2e: build ## The real app in a real window under Xvfb, through tauri-driver (and the fake IBM Quantum and Airplane).
	cargo build -p porthole-fakes -p portholed
	cargo build -p porthole-cli --features scripted
	tests/e2e/run.sh

bench-proxy: ## Tunnel proxy vs direct vs nginx, one run (BENCHMARKS.md); not part of make test.
	@# nginx only for this benchmark (not in make deps: on a systemd machine the package starts a server on :80).
	@[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || \
	  (DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -q nginx-light >/dev/null) || \
	  echo "bench-proxy: nginx could not be installed; its column is skipped"
	cargo bench -p porthole-proxy --bench proxy

bench-tunnel: ## portholed's TLS tunnel vs direct, across a network namespace (BENCHMARKS.md); needs root; not part of make test.
	cargo bench -p portholed --bench tunnel

bench-slurm: ## portholed's Slurm backend on a one-node cluster: launch to ready vs srun by hand, queries per minute for 100 watched sessions (BENCHMARKS.md); needs root; not part of make test.
	tests/slurm/run.sh --bench

bench-app: build ## The desktop app: cold start, idle memory and CPU, a 10k-session list (tests/bench/); not part of make test.
	@# tests/bench/app.sh alone measures what is built; PORTHOLE_APP=target/release/porthole-desktop another binary.
	@# The floor (a bare WebKitGTK window, tests/bench/floor.py) needs Debian's python3-gi; only this benchmark does.
	@/usr/bin/python3 -c "import gi; gi.require_version('WebKit2', '4.1')" 2>/dev/null || \
	  (DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -q python3-gi gir1.2-webkit2-4.1 >/dev/null) || \
	  echo "bench-app: python3-gi could not be installed; the floor is skipped"
	tests/bench/app.sh

TAURI := ui/node_modules/.bin/tauri
# The .deb also carries the CLI and portholed; tauri.conf.json names the release binaries.
DEBUG_FILES := {"build":{"beforeBuildCommand":""},"bundle":{"linux":{"deb":{"files":{"/usr/bin/porthole":"target/debug/porthole","/usr/bin/portholed":"target/debug/portholed","/usr/lib/systemd/system/portholed.service":"src-tauri/linux/portholed.service"}}}}}

package: deps-run ui ## A release .deb in target/release/bundle/deb/ (desktop entry, icons, porthole:// handler, CLI, portholed).
	cargo build --release -p porthole-cli -p portholed
	$(TAURI) build --bundles deb --config '{"build":{"beforeBuildCommand":""}}'

package-debug: ui ## The same .deb from the debug build (what the package test installs).
	cargo build -p porthole-desktop -p porthole-cli -p portholed $(subst scripted,porthole-desktop/scripted$(comma)porthole-cli/scripted,$(APP_FEATURES))
	$(TAURI) build --debug --bundles deb --config '$(DEBUG_FILES)' $(APP_FEATURES)

package-test: package-debug ## Install the .deb for real, check entry, URL handler, window, deep links; remove it.
	tests/package/run.sh

clean:
	cargo clean
	rm -rf ui/dist ui/dist-web

icons: ## Regenerate every icon size from icons/icon.svg.
	cd ui && npx tauri icon ../icons/icon.svg -o ../icons
	rm -rf icons/android icons/ios
	for s in 16 24 48 256; do convert -background none -density 384 icons/icon.svg -resize $${s}x$${s} PNG32:icons/$${s}x$${s}.png; done
