// The console's shell: the key (the app's function key, or an org key for one organisation),
// the router (#/orgs, #/orgs/{org}/{screen}) and the nav.

import { ApiError, get, key, onUnauthorized } from "./api.js";
import { changesScreen, healthScreen } from "./feed.js";
import { pushScreen } from "./jobs.js";
import { appointmentScreen, meetingsScreen } from "./meetings.js";
import { resourcesScreen, workersScreen } from "./links.js";
import { orgsScreen, settingsScreen } from "./orgs.js";
import { clear, field, h, href, message, messageBox } from "./ui.js";

const SCREENS = {
  workers: { title: "Workers", render: workersScreen },
  resources: { title: "Resources", render: resourcesScreen },
  push: { title: "Push calendar", render: pushScreen },
  meetings: { title: "Find a time", render: meetingsScreen },
  appointments: { title: "Appointments", render: appointmentScreen },
  settings: { title: "Settings", render: settingsScreen },
  health: { title: "Health", render: healthScreen },
  changes: { title: "Changes", render: changesScreen },
};

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const forget = document.getElementById("forget-key");
let cleanup = null;
let keyMessage = "";
let credential = { kind: "platform" }; // GET /api/credential: what the key reaches

/** `#key=…` in the address: keep the key for this tab, then take it out of the address bar
 * (and the history) so it is never shown, bookmarked or sent anywhere. */
function takeKeyFromFragment() {
  const match = /^#key=([^&]*)(?:&(.*))?$/.exec(location.hash);
  if (!match) return;
  let value = match[1];
  try {
    value = decodeURIComponent(value);
  } catch {
    // not percent-encoded: take it as it is
  }
  if (value) key.set(value);
  const rest = match[2] && match[2].startsWith("/") ? `#${match[2]}` : "#/orgs";
  history.replaceState(null, "", `${location.pathname}${location.search}${rest}`);
}

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  if (parts[0] === "orgs" && parts[1] && SCREENS[parts[2]]) {
    return { screen: parts[2], org: parts[1], arg: parts[3] || "" };
  }
  return { screen: "orgs" };
}

function renderNav(current) {
  clear(nav);
  nav.hidden = false;
  const items = credential.org ? [] : [h("li", {}, link("#/orgs", "Organisations", current.screen === "orgs"))];
  if (current.org) {
    items.push(h("li", { class: "org-name" }, h("span", { class: "muted", text: "Org " }), h("strong", { text: current.org })));
    for (const [name, screen] of Object.entries(SCREENS)) {
      items.push(h("li", {}, link(href(current.org, name), screen.title, current.screen === name)));
    }
  }
  nav.append(h("ul", {}, items));
}

function link(target, text, active) {
  return h("a", { href: target, "aria-current": active ? "page" : null, text });
}

function keyScreen() {
  nav.hidden = true;
  forget.hidden = true;
  clear(main);
  const input = h("input", { type: "password", autocomplete: "off", spellcheck: "false", required: true });
  const control = field("Function key", input, {
    hint:
      "The function key of this calsync app, or an organisation's key (csk_…) for that organisation only " +
      "(kept only in this browser tab).",
  });
  const box = messageBox();
  const form = h(
    "form",
    { class: "card narrow", novalidate: true, "aria-labelledby": "key-title" },
    h("h1", { id: "key-title", tabindex: "-1", text: "Sign in with the function key" }),
    box,
    control.wrap,
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary", text: "Open the console" })),
    h("p", {
      class: "hint",
      text: "Tip: open /api/console#key=<key> to skip this form; the key is then removed from the address bar.",
    }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (!value) {
      message(box, "Enter the function key.", "error");
      input.focus();
      return;
    }
    key.set(value);
    keyMessage = "";
    await start();
  });
  main.append(form);
  if (keyMessage) message(box, keyMessage, "error");
  document.title = "Sign in — calsync console";
  form.querySelector("h1").focus();
  input.focus();
}

async function start() {
  if (!key.get()) return keyScreen();
  credential = { kind: "platform" };
  try {
    credential = await get("credential"); // is the key good, and what does it reach?
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return; // onUnauthorized shows the form
    // Anything else: the screens say it where it matters.
  }
  forget.hidden = false;
  show();
}

function show() {
  if (!key.get()) return keyScreen();
  if (cleanup) cleanup();
  cleanup = null;
  const current = route();
  if (credential.org && current.org !== credential.org) {
    // An org key reaches its own org only: the org list and other orgs need the platform's key.
    if (current.screen === "orgs" && !location.hash.startsWith("#/orgs/")) {
      location.replace(href(credential.org, "workers"));
      return;
    }
    renderNav({ screen: "", org: credential.org });
    clear(main);
    document.title = "Not with this key — calsync console";
    main.append(
      h(
        "section",
        { class: "card narrow" },
        h("h1", { text: "Not with this key" }),
        h("p", {
          text: `This organisation key reaches ${credential.org} only. The organisation list and other organisations need the app's function key.`,
        }),
        h("p", {}, h("a", { href: href(credential.org, "workers"), text: `Open ${credential.org}` })),
      ),
    );
    main.querySelector("h1").setAttribute("tabindex", "-1");
    main.querySelector("h1").focus();
    return;
  }
  renderNav(current);
  clear(main);
  const screen = current.screen === "orgs" ? { title: "Organisations", render: orgsScreen } : SCREENS[current.screen];
  document.title = `${screen.title}${current.org ? ` — ${current.org}` : ""} — calsync console`;
  cleanup = screen.render(main, current) || null;
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: false });
  }
}

onUnauthorized(() => {
  key.clear();
  if (cleanup) cleanup();
  cleanup = null;
  keyMessage = "The key was refused (401 Unauthorized). Enter a valid key.";
  keyScreen();
});

forget.addEventListener("click", () => {
  key.clear();
  if (cleanup) cleanup();
  cleanup = null;
  keyMessage = "";
  keyScreen();
});

// The skip link moves focus to the screen; it must not change the hash (the router's).
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

window.addEventListener("hashchange", () => {
  takeKeyFromFragment();
  show();
});

takeKeyFromFragment();
start();
