// An org's health, and its change feed (latest first, refreshed every few seconds).

import { get, path } from "./api.js";
import { announce, badge, busy, button, field, h, href, message, messageBox, table, when } from "./ui.js";

const HEALTH = {
  healthy: ["ok", "✔", "Healthy"],
  pending: ["pending", "◔", "Pending"],
  stale: ["stale", "⚠", "Stale"],
  attention: ["attention", "⚠", "Attention"],
  error: ["error", "✖", "Error"],
};

const healthBadge = (state) => badge(...(HEALTH[state] || ["unlinked", "○", state || "—"]));

export function healthScreen(main, { org }) {
  const box = messageBox();
  const summary = h("div", { class: "status-line" });
  const tiles = h("ul", { class: "tiles", "aria-label": "Links by health" });
  const worst = table("Links that need a look, worst first", [
    "Link",
    "Account",
    "Health",
    "Problem",
    "Last sync",
    "Subscription expires",
    "Since",
  ]);
  const none = h("p", { class: "muted", hidden: true, text: "Every link is healthy or pending." });
  const deployment = h("p", { class: "muted" });

  async function load() {
    try {
      const report = await get(path("orgs", org, "health"));
      summary.replaceChildren(h("span", { text: "Organisation: " }), report.status === "connected" ? badge("ok", "✔", "Connected") : badge("error", "✖", report.status));
      tiles.replaceChildren(
        ...Object.keys(HEALTH).map((state) =>
          h("li", { class: `tile ${HEALTH[state][0]}` }, h("span", { class: "count", text: String(report.links[state] ?? 0) }), healthBadge(state)),
        ),
      );
      worst.body.replaceChildren(
        ...report.worst.map((w) => {
          const kind = w.worker !== undefined ? "worker" : "resource";
          const id = w.worker ?? w.resource;
          const problem = w.error ? `${w.error.code}: ${w.error.message}` : w.attention || "";
          return worst.row([
            h("div", {}, h("a", { href: href(org, `${kind}s`), text: id }), h("div", { class: "muted", text: kind })),
            w.account || "—",
            healthBadge(w.health),
            problem,
            when(w.lastSyncAt),
            when(w.subscriptionExpiresAt),
            when(w.since),
          ]);
        }),
      );
      none.hidden = report.worst.length > 0;
      message(box, "");
    } catch (err) {
      message(box, `Could not read the health: ${err.detail}`, "error");
    }
    try {
      const app = await get("health");
      const checks = Object.entries(app.checks).map(([name, c]) => `${name} ${c.status}`).join(", ");
      deployment.textContent = `calsync itself: ${app.status} (${checks}).`;
    } catch (err) {
      const checks = err.problem?.checks ? Object.entries(err.problem.checks).map(([n, c]) => `${n} ${c.status}`).join(", ") : err.detail;
      deployment.textContent = `calsync itself: unhealthy (${checks}).`;
    }
  }

  main.append(
    h("h1", { text: `Health — ${org}` }),
    h(
      "section",
      { class: "card", "aria-labelledby": "health-title" },
      h("h2", { id: "health-title", text: "Links" }),
      summary,
      tiles,
      h("div", { class: "row" }, button("Refresh", (e) => busy(e.currentTarget, load))),
      box,
      h("div", { class: "scroll" }, worst.el),
      none,
      deployment,
    ),
  );
  load();
  const timer = setInterval(() => document.visibilityState === "visible" && load(), 30000);
  return () => clearInterval(timer);
}

// -- the change feed --------------------------------------------------------------------------

const KEEP = 200; // changes shown
const PAGE = 500; // the API's largest page
const EVERY = 5000; // ms between refreshes

function describe(change) {
  const d = change.data || {};
  const bits = [];
  if (d.occurrence) bits.push(`occurrence ${d.occurrence}`);
  if (d.title) bits.push(`“${d.title}”`);
  if (d.start) bits.push(`${d.start}${d.end ? ` → ${d.end}` : ""}`);
  if (d.changed?.length) bits.push(`changed: ${d.changed.join(", ")}`);
  if (d.response) bits.push(`${d.address || "?"} ${d.response}`);
  if (d.reason) bits.push(d.reason);
  if (change.type === "restored") bits.push(d.deleted ? "deleted in Outlook: made again" : "edit undone");
  return bits.join(" · ");
}

export function changesScreen(main, { org }) {
  const stored = JSON.parse(sessionStorage.getItem(`calsync.feed.${org}`) || "null");
  let cursor = stored?.cursor ?? null;
  let items = stored?.items ?? []; // latest first
  let running = false;
  const box = messageBox();
  const checked = h("p", { class: "muted", "aria-live": "off" });
  const auto = field(`Refresh every ${EVERY / 1000} seconds`, h("input", { type: "checkbox", checked: true }));
  const list = table("Changes, latest first", ["When", "Type", "Appointment", "Worker or resource", "Details"]);
  const empty = h("p", { class: "muted", hidden: true, text: "No change yet." });

  function render() {
    list.body.replaceChildren(
      ...items.map((c) =>
        list.row(
          [
            when(c.at),
            h("span", { class: `type ${c.type}`, text: c.type }),
            h("code", { text: c.appointment || "—" }),
            c.worker ? `worker ${c.worker}` : c.resource ? `resource ${c.resource}` : "—",
            describe(c),
          ],
          { dataset: { cursor: c.cursor, type: c.type } },
        ),
      ),
    );
    empty.hidden = items.length > 0;
  }

  /** A first visit reads the last KEEP changes (latest=true); later ones read on from the
   * cursor to the end of the feed. Returns how many were new. */
  async function refresh() {
    if (running) return 0;
    running = true;
    let fresh = 0;
    try {
      for (;;) {
        const first = cursor === null;
        const query = first ? { latest: "true", limit: KEEP } : { after: cursor, limit: PAGE };
        const page = await get(path("orgs", org, "changes"), query);
        cursor = page.next ?? cursor;
        if (page.changes.length) {
          items = [...page.changes.reverse(), ...items].slice(0, KEEP);
          fresh += page.changes.length;
          if (!stored && fresh >= PAGE) message(box, `Reading the feed… ${fresh.toLocaleString()} changes so far.`);
        }
        if (first || page.changes.length < PAGE) break;
      }
      sessionStorage.setItem(`calsync.feed.${org}`, JSON.stringify({ cursor, items }));
      message(box, "");
      checked.textContent = `Checked at ${new Date().toLocaleTimeString()}.`;
      if (fresh) render();
    } catch (err) {
      message(box, `Could not read the feed: ${err.detail}`, "error");
    } finally {
      running = false;
    }
    return fresh;
  }

  const now = button("Refresh now", (e) =>
    busy(e.currentTarget, async () => {
      const n = await refresh();
      announce(n ? `${n} new change${n === 1 ? "" : "s"}.` : "No new change.");
    }),
  );
  main.append(
    h("h1", { text: `Changes — ${org}` }),
    h(
      "section",
      { class: "card", "aria-labelledby": "feed-title" },
      h("h2", { id: "feed-title", text: "Change feed" }),
      h("p", { class: "hint", text: "What happened in Outlook, as the booking product reads it from GET /api/orgs/{org}/changes." }),
      h("div", { class: "toolbar" }, auto.wrap, now),
      checked,
      box,
      h("div", { class: "scroll" }, list.el),
      empty,
    ),
  );
  if (stored) render();
  refresh().then(render);
  const timer = setInterval(async () => {
    if (!auto.input.checked || document.visibilityState !== "visible") return;
    const n = await refresh();
    if (n) announce(`${n} new change${n === 1 ? "" : "s"}.`);
  }, EVERY);
  return () => clearInterval(timer);
}
