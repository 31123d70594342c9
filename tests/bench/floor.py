"""The floor under the desktop benchmark: a bare WebKitGTK window, no Tauri and no Porthole, with
the main window's settings (no accelerated compositing, 1024x700) showing two lines of text.

Run by tests/bench/floor.mjs with Debian's python3-gi: prints `PAINTED <epoch ms> <navigation
start, epoch ms>` once the page has painted (the same requestAnimationFrame + setTimeout marker
the app's list uses), then idles until its stdin closes. The UI process is a Python interpreter,
which adds a few MB to it.

With the argument `input`, the page also has a focused text field, and each character typed into
it prints `KEY <painted> <keydown's stamp> <keydown handled>` (epoch ms) once painted
(tests/bench/input.mjs): the floor for input latency.
With `url URL`, it opens that page instead (a running terminal's) and prints `PROMPT <epoch ms>
<navigation start, epoch ms>` once the terminal shows text (tests/bench/loop.mjs).
"""

import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("WebKit2", "4.1")
from gi.repository import GLib, Gtk, WebKit2  # noqa: E402

PAGE = """<!doctype html><html><body><h1>Sessions</h1><p>No sessions yet</p><script>
requestAnimationFrame(() => setTimeout(() =>
  webkit.messageHandlers.painted.postMessage(
    `${performance.timeOrigin + performance.now()} ${performance.timeOrigin}`)));
</script></body></html>"""


FIELD = """<input id="field" autofocus><script>
const field = document.getElementById("field");
const now = () => performance.timeOrigin + performance.now();
let down = [NaN, NaN];
field.addEventListener("keydown", (e) => { down = [performance.timeOrigin + e.timeStamp, now()]; });
field.addEventListener("input", () => {
  const key = down;
  requestAnimationFrame(() => setTimeout(() =>
    webkit.messageHandlers.key.postMessage(`${now()} ${key[0]} ${key[1]}`)));
});
</script></body>"""


def painted(_manager, result):
    value = result.get_js_value() if hasattr(result, "get_js_value") else result
    print(f"PAINTED {value.to_string()}", flush=True)


# Injected into the page at `url`: the first frame in which the terminal shows any text.
PROMPT_WATCH = """(function watch() {
  const rows = document.querySelector(".xterm-rows");
  if (rows && rows.textContent.trim() !== "") {
    setTimeout(() => webkit.messageHandlers.prompt.postMessage(
      `${performance.timeOrigin + performance.now()} ${performance.timeOrigin}`));
  } else {
    requestAnimationFrame(watch);
  }
})();"""


def prompt(_manager, result):
    value = result.get_js_value() if hasattr(result, "get_js_value") else result
    print(f"PROMPT {value.to_string()}", flush=True)


def key(_manager, result):
    value = result.get_js_value() if hasattr(result, "get_js_value") else result
    print(f"KEY {value.to_string()}", flush=True)


def stdin_closed(_source, _condition):
    Gtk.main_quit()
    return False


def main():
    content = WebKit2.UserContentManager()
    content.connect("script-message-received::painted", painted)
    content.register_script_message_handler("painted")
    content.connect("script-message-received::key", key)
    content.register_script_message_handler("key")
    content.connect("script-message-received::prompt", prompt)
    content.register_script_message_handler("prompt")
    view = WebKit2.WebView.new_with_user_content_manager(content)
    view.get_settings().set_hardware_acceleration_policy(WebKit2.HardwareAccelerationPolicy.NEVER)
    window = Gtk.Window(title="floor")
    window.set_default_size(1024, 700)
    window.add(view)
    window.connect("destroy", Gtk.main_quit)
    if sys.argv[1:2] == ["url"]:
        content.add_script(
            WebKit2.UserScript.new(
                PROMPT_WATCH,
                WebKit2.UserContentInjectedFrames.TOP_FRAME,
                WebKit2.UserScriptInjectionTime.END,
                None,
                None,
            )
        )
        view.load_uri(sys.argv[2])
    else:
        page = PAGE.replace("</body>", FIELD) if sys.argv[1:] == ["input"] else PAGE
        view.load_html(page, "about:blank")
    window.show_all()
    GLib.io_add_watch(sys.stdin.fileno(), GLib.IO_HUP | GLib.IO_IN, stdin_closed)
    Gtk.main()


if __name__ == "__main__":
    main()
