#!/usr/bin/env bash
# The .deb, installed for real: builds it (debug profile, the binaries the other tests use),
# installs it with dpkg -i then apt-get -f install, checks the desktop entry and the porthole://
# URL handler, runs the installed app under Xvfb and sees its window, opens a session through a
# deep link into the running instance (xdg-open and a second launch), checks that a link naming
# an unknown account is refused and acted on never, and removes the package cleanly.
set -euo pipefail
cd "$(dirname "$0")/../.."

deb=$(ls -t target/debug/bundle/deb/Porthole_*_amd64.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { echo "package: no .deb (run make package-debug)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "package: installing needs root" >&2; exit 1; }

tmp=$(mktemp -d /tmp/porthole-package.XXXXXX)
cleanup() {
  pkill -f '^/usr/bin/porthole-desktop' 2>/dev/null || true
  dpkg -r porthole >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

pass=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
fail() { echo "FAIL $*" >&2; exit 1; }

echo "package: installing $deb"
dpkg -i "$deb" >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get -f install -y -qq >/dev/null
dpkg -s porthole | grep -q '^Status: install ok installed' && ok "dpkg -i then apt-get -f install: installed"
for bin in porthole-desktop porthole portholed; do
  [ -x "/usr/bin/$bin" ] || fail "/usr/bin/$bin is missing"
done
/usr/bin/porthole --version >/dev/null && /usr/bin/portholed --version >/dev/null \
  && ok "the package carries the app, the porthole CLI and portholed"

entry=/usr/share/applications/Porthole.desktop
desktop-file-validate "$entry" && ok "desktop-file-validate $entry"
grep -q '^Exec=porthole-desktop %u$' "$entry" || fail "the entry does not pass links on (Exec)"
grep -q '^MimeType=x-scheme-handler/porthole$' "$entry" || fail "the entry does not claim porthole://"
update-desktop-database -q /usr/share/applications
grep -q 'x-scheme-handler/porthole=Porthole.desktop' /usr/share/applications/mimeinfo.cache \
  || fail "porthole:// is not in the desktop database"
export XDG_DATA_HOME=$tmp/xdg-data XDG_CONFIG_HOME=$tmp/xdg-config XDG_CACHE_HOME=$tmp/xdg-cache
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
[ "$(xdg-mime query default x-scheme-handler/porthole)" = "Porthole.desktop" ] \
  && ok "porthole:// links are handled by Porthole.desktop"
for size in 16x16 32x32 48x48 64x64 128x128 256x256 512x512; do
  [ -f "/usr/share/icons/hicolor/$size/apps/porthole-desktop.png" ] || fail "no $size icon"
done
ok "icons 16 to 512 px in hicolor"

# portholed as a service: the unit is installed and valid, not enabled, and its command line as
# the unit sets it (the same environment, another port) serves TLS beyond loopback.
unit=/usr/lib/systemd/system/portholed.service
[ -f "$unit" ] || fail "no $unit"
systemd-analyze verify "$unit" || fail "systemd-analyze verify $unit"
[ ! -e /etc/systemd/system/multi-user.target.wants/portholed.service ] || fail "the service was enabled"
ok "the portholed unit is installed, valid and not enabled"
svc=$tmp/service
mkdir -p "$svc"
(
  # shellcheck disable=SC2046
  export $(sed -n 's/^Environment=//p' "$unit" | sed "s#/var/lib/portholed#$svc/data#g; s#/etc/portholed#$svc/etc#g")
  export PORTHOLED_LISTEN=0.0.0.0:0
  exec /usr/bin/portholed
) 2>"$svc/log" &
daemon=$!
for _ in $(seq 1 100); do grep -q "listening on" "$svc/log" && break; sleep 0.1; done
grep -q "listening on https://0.0.0.0:.* (TLS, certificate sha256:" "$svc/log" || { cat "$svc/log" >&2; fail "the service did not serve TLS"; }
PORTHOLED_DATA_DIR=$svc/data /usr/bin/portholed pair --address 192.0.2.10 >"$svc/pair" || fail "portholed pair"
grep -q '^porthole-pair:v1:' "$svc/pair" && grep -q '^porthole://pair?code=porthole-pair:v1:' "$svc/pair" \
  || fail "portholed pair printed no pairing string"
kill "$daemon"; wait "$daemon" || true
ok "the service's command line serves TLS beyond loopback, and portholed pair prints its string"

export PORTHOLE_CONFIG_DIR=$tmp/config PORTHOLE_DATA_DIR=$tmp/data PACKAGE_TMP=$tmp
# The installed app, the CLI and the links share one private session bus (single instance and the
# keychain both live on it) and one virtual display.
xvfb-run -a -s "-screen 0 1280x800x24" scripts/with-keyring.sh bash -c '
  set -euo pipefail
  ok() { echo "ok   $*"; }
  fail() { echo "FAIL $*" >&2; exit 1; }
  wait_for() { # what, seconds, command…
    local what=$1 limit=$2; shift 2
    for _ in $(seq 1 $((limit * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    fail "timed out after ${limit}s waiting for $what"
  }
  /usr/bin/porthole-desktop >"$PACKAGE_TMP/app.log" 2>&1 &
  app=$!
  wait_for "the main window" 60 xdotool search --name "^Porthole$"
  ok "the installed app shows its window"
  wait_for "the Local server" 60 /usr/bin/porthole sessions list
  launched=$(/usr/bin/porthole sessions launch --machine terminal --minutes 30 --json)
  id=$(printf "%s" "$launched" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"id\"])")
  name=$(printf "%s" "$launched" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"name\"])")
  ok "a Local session ($name) is running"

  xdg-open "porthole://session/local/$id"
  wait_for "the session window opened by xdg-open" 30 xdotool search --name "^$name — .* left — Porthole$"
  kill -0 "$app" || fail "the running instance went away"
  # (Session helpers run the same binary with __portholed-* arguments: not instances.)
  wait_for "the instance xdg-open started to hand over and exit" 20 \
    bash -c "! pgrep -f \"^(/usr/bin/)?porthole-desktop porthole://\""
  ok "xdg-open porthole://session/local/<id> opened the session in the running instance"

  # A second launch with the link: it hands the link over and exits; the running instance acts.
  opened() { grep -c "opened a porthole:// link" "$PORTHOLE_DATA_DIR/logs/porthole.log" || true; }
  [ "$(opened)" -eq 1 ] || fail "expected one opened link so far, saw $(opened)"
  timeout 30 /usr/bin/porthole-desktop "porthole://session/local/$id" || fail "the second launch did not exit"
  wait_for "the running instance to act on the second link" 30 test "$(opened)" -eq 2
  kill -0 "$app" || fail "the running instance went away"
  ok "a second launch with the link handed it to the running instance and exited"

  before=$(xdotool search --name "Porthole" | sort)
  timeout 30 /usr/bin/porthole-desktop "porthole://session/no-such-account/$id" || fail "the second launch did not exit"
  wait_for "the refusal in the log" 20 grep -q "link refused: The link names the account “no-such-account”" "$PORTHOLE_DATA_DIR/logs/porthole.log"
  after=$(xdotool search --name "Porthole" | sort)
  [ "$before" = "$after" ] || fail "a window opened or closed for a refused link"
  /usr/bin/porthole sessions list --json | grep -q "\"$id\"" || fail "the session was touched"
  ok "a link naming an unknown account is refused with a message and nothing is opened"

  /usr/bin/porthole sessions stop "$id" >/dev/null
  kill "$app"; wait "$app" || true
'
pass=$((pass + 7))

dpkg -r porthole >/dev/null
[ ! -e /usr/bin/porthole-desktop ] && [ ! -e "$entry" ] && [ ! -e /usr/bin/porthole ] \
  && [ ! -e "$unit" ] || fail "files left after dpkg -r"
update-desktop-database -q /usr/share/applications
! grep -q 'x-scheme-handler/porthole' /usr/share/applications/mimeinfo.cache \
  || fail "porthole:// still registered after removal"
ok "dpkg -r removes the app, the CLI, portholed, its unit, the entry and the URL handler"
echo "package: $pass checks passed"
