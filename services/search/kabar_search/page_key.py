"""The search page when reads need the API key (``KABAR_API_READ_REQUIRES_KEY``).

A browser cannot add a header to a link it follows, and a key in the URL would end up in
history, logs and Referer headers. So a page asked for without the key answers 401 with a
small form and a script (``/static/kabar-key.js``, the only script, allowed by the pages'
Content-Security-Policy): the key typed once is kept in ``sessionStorage`` (this tab, until it
closes; never ``localStorage``, never a cookie), and from then on the script fetches each page
with ``X-API-Key``, shows it, and follows links and searches the same way, keeping the address
bar (without the key) and the back button right. A refused key is forgotten and asked for again.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Final

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

SCRIPT_PATH: Final = "/static/kabar-key.js"
KEY_FORM: Final = (
    '<main><section><form id="kabar-key" autocomplete="off"><p>These pages need the API key. '
    "It is kept in this browser tab only, until you close it, and sent with each page as a header."
    '</p><p class="error" id="kabar-key-error" role="alert" hidden></p>'
    '<label>API key <input type="password" name="key" id="kabar-key-input" required autofocus></label> '
    '<button type="submit">Open</button></form></section></main>'
)
SCRIPT: Final = """\
"use strict";
(function () {
  var STORE = "kabar-api-key";
  function key() { return window.sessionStorage.getItem(STORE); }
  function show(html) {
    var page = new DOMParser().parseFromString(html, "text/html");
    document.title = page.title;
    document.body.replaceWith(document.adoptNode(page.body));
  }
  function ask(message) {
    var error = document.getElementById("kabar-key-error");
    if (error && message) { error.textContent = message; error.hidden = false; }
    var input = document.getElementById("kabar-key-input");
    if (input) { input.focus(); }
  }
  function load(url, remember) {
    return fetch(url, {headers: {"X-API-Key": key() || "", "Accept": "text/html"}, credentials: "omit",
                       cache: "no-store"})
      .then(function (response) {
        return response.text().then(function (html) {
          if (response.status === 401) {
            window.sessionStorage.removeItem(STORE);
            show(html);
            ask("The key was not accepted; type it again.");
            return;
          }
          show(html);
          if (remember) { window.history.pushState(null, "", url); }
          window.scrollTo(0, 0);
        });
      })
      .catch(function () { ask("The server could not be reached; try again."); });
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) { return; }
    event.preventDefault();
    if (form.id === "kabar-key") {
      window.sessionStorage.setItem(STORE, form.elements.namedItem("key").value);
      load(window.location.href, false);
      return;
    }
    var url = new URL(form.getAttribute("action") || window.location.pathname, window.location.href);
    url.search = new URLSearchParams(new FormData(form)).toString();
    load(url.href, true);
  });
  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest("a[href]") : null;
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
        event.shiftKey || event.altKey || link.origin !== window.location.origin) { return; }
    event.preventDefault();
    load(link.href, true);
  });
  window.addEventListener("popstate", function () { load(window.location.href, false); });
  if (key()) { load(window.location.href, false); } else { ask(""); }
})();
"""


def keyed_route(key_page: Callable[[StarletteHTTPException], Response]) -> type[APIRoute]:
    """A route class for pages: a 401 becomes ``key_page`` (the form and the script), not a JSON problem."""

    class KeyedPageRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handle = super().get_route_handler()

            async def handler(request: Request) -> Response:
                try:
                    return await handle(request)
                except StarletteHTTPException as exc:
                    if exc.status_code != 401:
                        raise
                    return key_page(exc)

            return handler

    return KeyedPageRoute
