// Organisations (list, connect, consent, delete) and an org's settings.

import { ApiError, del, get, path, put } from "./api.js";
import {
  announce,
  badge,
  busy,
  button,
  confirmDialog,
  field,
  h,
  href,
  message,
  messageBox,
  setFieldError,
  showError,
  table,
  when,
} from "./ui.js";

// What an admin can do about an org's error (the API's message is Graph's own).
const ADVICE = {
  consent_required: "The tenant's admin has not granted consent yet: send them the admin-consent link.",
  graph_unavailable: "Microsoft Graph did not answer: check again in a few minutes.",
};

export function orgStatus(view) {
  if (view.status === "connected") return badge("ok", "✔", "Connected");
  const reason = view.error ? `${view.error.code}: ${view.error.message}` : view.status;
  const advice = ADVICE[view.error?.code];
  return h(
    "div",
    {},
    badge("error", "✖", "Error"),
    advice ? h("p", { class: "advice", text: advice }) : null,
    h("p", { class: "reason", text: reason }),
  );
}

function consentLink(url, text = "Admin consent") {
  if (!/^https:\/\//.test(url || "")) return h("span", { class: "muted", text: "no consent link" });
  return h("a", { href: url, target: "_blank", rel: "noopener noreferrer", class: "external", text });
}

export function orgsScreen(main) {
  const list = table("Organisations", ["Status", "Organisation", "Microsoft 365 tenant", "Actions"], { captionHidden: true });
  const rows = new Map();
  const more = button("Load more", () => load(next));
  const listBox = messageBox();
  let next = null;

  function row(view) {
    const actions = h(
      "div",
      { class: "actions" },
      h("a", { href: href(view.org, "workers"), text: "Workers" }),
      h("a", { href: href(view.org, "resources"), text: "Resources" }),
      h("a", { href: href(view.org, "settings"), text: "Settings" }),
      h("a", { href: href(view.org, "health"), text: "Health" }),
      view.adminConsentUrl ? consentLink(view.adminConsentUrl) : null,
      button("Check again", (e) => busy(e.currentTarget, () => reconnect(view)), {
        "aria-label": `Check the connection of ${view.org} again`,
      }),
      button("Delete", () => remove(view), { class: "danger", "aria-label": `Delete ${view.org}` }),
    );
    const tr = list.row(
      [
        orgStatus(view),
        h("div", {}, h("strong", { text: view.displayName || view.org }), h("div", { class: "muted", text: view.org })),
        h("code", { text: view.m365TenantId }),
        actions,
      ],
      { dataset: { org: view.org } },
    );
    const old = rows.get(view.org);
    if (old) old.replaceWith(tr);
    else list.body.append(tr);
    rows.set(view.org, tr);
    if (!listBox.classList.contains("error")) message(listBox, "");
  }

  async function load(after) {
    try {
      const page = await get("orgs", { limit: 100, after });
      page.orgs.forEach(row);
      next = page.next;
      more.hidden = !next;
      message(listBox, rows.size ? "" : "No organisation yet: connect one above.");
    } catch (err) {
      message(listBox, `Could not list the organisations: ${err.detail}`, "error");
    }
  }

  async function reconnect(view) {
    try {
      const fresh = await put(path("orgs", view.org), { m365TenantId: view.m365TenantId, displayName: view.displayName });
      row(fresh);
      announce(`${view.org}: ${fresh.status}`);
    } catch (err) {
      message(listBox, `${view.org}: ${err.detail}`, "error");
    }
  }

  async function remove(view) {
    const sure = await confirmDialog({
      title: `Delete ${view.org}?`,
      body:
        "Every worker and resource is unlinked (our Graph subscriptions deleted) and the org's stored state — " +
        "links, appointments, jobs, the change feed — is deleted. Events already in people's calendars stay.",
      confirm: `Delete ${view.org}`,
      danger: true,
    });
    if (!sure) return;
    try {
      const done = await del(path("orgs", view.org));
      rows.get(view.org)?.remove();
      rows.delete(view.org);
      if (!rows.size) message(listBox, "No organisation yet: connect one above.");
      message(listBox, `${view.org} deleted (${done.subscriptionsDeleted} subscriptions deleted).`, "ok");
    } catch (err) {
      message(listBox, `${view.org} not deleted: ${err.detail}`, "error");
    }
  }

  // -- connect ----------------------------------------------------------------------------
  const controls = {
    org: field("Organisation id", h("input", { type: "text", autocomplete: "off", spellcheck: "false" }), {
      hint: "The booking product's id of the organisation, e.g. contoso.",
    }),
    m365TenantId: field("Microsoft 365 tenant id", h("input", { type: "text", autocomplete: "off", spellcheck: "false" }), {
      hint: "A GUID: Entra ID → Overview → Tenant ID.",
    }),
    displayName: field("Display name", h("input", { type: "text", autocomplete: "off" }), {
      hint: "Optional; shown in this console.",
    }),
  };
  const box = messageBox();
  const submit = h("button", { type: "submit", class: "primary", text: "Connect" });
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "connect-title" },
    h("h2", { id: "connect-title", text: "Connect an organisation" }),
    h("div", { class: "fields" }, Object.values(controls).map((c) => c.wrap)),
    h("div", { class: "row" }, submit),
    box,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, async () => {
      const org = controls.org.input.value.trim();
      for (const c of Object.values(controls)) setFieldError(c, "");
      if (!org) {
        setFieldError(controls.org, "Enter the organisation's id.");
        controls.org.input.focus();
        return;
      }
      try {
        const view = await put(path("orgs", org), {
          m365TenantId: controls.m365TenantId.input.value.trim(),
          displayName: controls.displayName.input.value.trim(),
        });
        row(view);
        if (view.status === "connected") {
          message(box, `✔ ${org} is connected to tenant ${view.m365TenantId}.`, "ok");
        } else {
          const advice = ADVICE[view.error?.code] || "";
          message(box, `✖ ${org} is stored but not connected. ${advice} (${view.error?.code}: ${view.error?.message})`, "error");
          box.append(" ", consentLink(view.adminConsentUrl, "Open the admin-consent page"));
        }
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 401) showError(err, controls, box);
      }
    });
  });

  main.append(
    h("h1", { text: "Organisations" }),
    form,
    h("section", { class: "card", "aria-labelledby": "orgs-title" }, h("h2", { id: "orgs-title", text: "All organisations" }), listBox, h("div", { class: "scroll" }, list.el), more),
  );
  more.hidden = true;
  load(null);
}

// -- settings ---------------------------------------------------------------------------------

const CHOICES = {
  syncMode: [
    ["twoWay", "Two-way"],
    ["oneWay", "One-way"],
    ["off", "Off"],
  ],
  restrictedEdit: [
    ["detach", "Detach the worker"],
    ["ignore", "Ignore the edit"],
  ],
  restrictedDelete: [
    ["detach", "Detach the worker"],
    ["ignore", "Ignore the deletion"],
  ],
};

function select(name) {
  return h("select", {}, CHOICES[name].map(([value, text]) => h("option", { value, text })));
}

export function settingsScreen(main, { org }) {
  const box = messageBox();
  const c = {
    syncMode: field("Sync mode", select("syncMode"), {
      hint: "Two-way: both ways. One-way: booking → Outlook only (Outlook edits undone). Off: no Graph reads or writes.",
    }),
    pushAppointmentsByDefault: field("Push appointments by default", h("input", { type: "checkbox" }), {
      hint: "The default of an appointment's push.",
    }),
    useOrganizer: field("One meeting in the organizer's calendar", h("input", { type: "checkbox" }), {
      hint: "Off: a copy in each calendar, no invitations.",
    }),
    createFromOutlook: field("Events made in Outlook become appointments", h("input", { type: "checkbox" })),
    createPrefix: field("Only Outlook events whose subject starts with", h("input", { type: "text", maxlength: "64" }), {
      hint: "Blank: every event. At most 64 characters.",
    }),
    restrictedEdit: field("A restricted worker edits our event in Outlook", select("restrictedEdit"), {
      hint: "Detach: reported as attendee_removed, plus a personal copy.",
    }),
    restrictedDelete: field("A restricted worker deletes our event in Outlook", select("restrictedDelete"), {
      hint: "Detach: reported as attendee_removed.",
    }),
    maxResources: field("Most linked resources", h("input", { type: "number", min: "0", step: "1", inputmode: "numeric" }), {
      hint: "Blank: no limit.",
    }),
    allowUserMailboxesAsResources: field("Allow user mailboxes as resources", h("input", { type: "checkbox" })),
    roomCheckIn: field("Release rooms nobody checked in to", h("input", { type: "checkbox" }), {
      hint: "The room declines the meeting; the feed says room_released.",
    }),
    releaseAfterMinutes: field("Release after (minutes)", h("input", { type: "number", min: "1", max: "120", step: "1", inputmode: "numeric" }), {
      hint: "1–120 minutes after the booking starts without a check-in.",
    }),
    syncTasks: field("Push tasks to Microsoft To Do", h("input", { type: "checkbox" }), {
      hint: "Completions and edits in To Do come back on the reconcile timer.",
    }),
    taskListName: field("To Do list for tasks", h("input", { type: "text", maxlength: "255" }), {
      hint: "Made in each worker's To Do on first use.",
    }),
    webhookUrl: field("Webhook URL", h("input", { type: "url", autocomplete: "off", spellcheck: "false" }), {
      hint: "Where calsync POSTs changes (https). Blank: no webhook.",
      wide: true,
    }),
    webhookSecret: field("New webhook secret", h("input", { type: "password", autocomplete: "new-password", spellcheck: "false" }), {
      hint: "A Standard Webhooks secret: whsec_ and the base64 of 24–64 random bytes. Blank keeps the current one.",
      wide: true,
    }),
  };
  const removeSecret = field("Remove the webhook secret", h("input", { type: "checkbox" }));
  const generate = button("Generate a secret", () => {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    const input = c.webhookSecret.input;
    input.type = "text"; // shown, so that it can be copied to the receiver
    input.value = `whsec_${btoa(String.fromCharCode(...bytes))}`;
    input.focus();
    input.select();
    announce("A new secret is in the field: copy it to your webhook receiver, then save.");
  });
  const secretState = h("p", { class: "hint" });
  const save = h("button", { type: "submit", class: "primary", text: "Save settings" });
  const group = (legend, ...names) =>
    h("fieldset", {}, h("legend", { text: legend }), h("div", { class: "fields" }, names.map((n) => (typeof n === "string" ? c[n].wrap : n))));
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "settings-title" },
    h("h2", { id: "settings-title", text: "Settings" }),
    group("Sync", "syncMode", "pushAppointmentsByDefault", "useOrganizer", "createFromOutlook", "createPrefix"),
    group("Restricted workers", "restrictedEdit", "restrictedDelete"),
    group("Resources", "maxResources", "allowUserMailboxesAsResources", "roomCheckIn", "releaseAfterMinutes"),
    group("Tasks", "syncTasks", "taskListName"),
    group("Webhook", "webhookUrl", "webhookSecret", h("div", { class: "row tight" }, generate, secretState), removeSecret.wrap),
    h("div", { class: "row" }, save),
    box,
  );

  function fill(s) {
    for (const [name, control] of Object.entries(c)) {
      const { input } = control;
      if (name === "webhookSecret") {
        input.value = "";
        input.type = "password";
      }
      else if (input.type === "checkbox") input.checked = Boolean(s[name]);
      else input.value = s[name] === null || s[name] === undefined ? "" : String(s[name]);
    }
    removeSecret.input.checked = false;
    secretState.textContent = s.webhookSecretSet ? "A webhook secret is set." : "No webhook secret is set.";
  }

  function body() {
    const out = {};
    for (const [name, { input }] of Object.entries(c)) {
      if (input.type === "checkbox") out[name] = input.checked;
      else if (name === "maxResources") out[name] = input.value.trim() === "" ? null : Number(input.value);
      else if (name === "releaseAfterMinutes") out[name] = Number(input.value);
      else if (name === "webhookSecret") {
        if (input.value) out[name] = input.value;
      } else out[name] = input.value.trim();
    }
    if (!out.webhookUrl) out.webhookUrl = null;
    if (removeSecret.input.checked && !out.webhookSecret) out.webhookSecret = null;
    return out;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(save, async () => {
      try {
        const removing = removeSecret.input.checked && !c.webhookSecret.input.value;
        const saved = await put(path("orgs", org, "settings"), body());
        fill(saved);
        showError({ field: null }, c, null);
        if (removing && saved.webhookSecretSet) message(box, "Saved, but calsync kept the webhook secret.", "error");
        else message(box, "✔ Settings saved.", "ok");
      } catch (err) {
        showError(err, c, box);
      }
    });
  });

  main.append(h("h1", { text: `Settings — ${org}` }), connectionCard(org), form);
  get(path("orgs", org, "settings"))
    .then(fill)
    .catch((err) => message(box, `Could not read the settings: ${err.detail}`, "error"));
}

function connectionCard(org) {
  const status = h("div", { class: "status-line", "aria-live": "polite" }, h("span", { class: "muted", text: "Reading…" }));
  const box = messageBox();
  const redirect = field("Redirect URI (optional)", h("input", { type: "url", spellcheck: "false" }), {
    hint: "https, registered on the app; where Microsoft sends the admin after consenting.",
    wide: true,
  });
  const state = field("State (optional)", h("input", { type: "text", spellcheck: "false" }));
  const out = h("p", { class: "consent-out" });
  const getLink = h("button", { type: "submit", text: "Get the consent link" });
  let view = null;

  function show(v) {
    view = v;
    status.replaceChildren(
      orgStatus(v),
      h("span", { class: "muted", text: " tenant " }),
      h("code", { text: v.m365TenantId }),
      h("span", { class: "muted", text: " · updated " }),
      when(v.updatedAt),
    );
  }
  const again = button("Check the connection again", (e) =>
    busy(e.currentTarget, async () => {
      try {
        show(await put(path("orgs", org), { m365TenantId: view.m365TenantId, displayName: view.displayName }));
        message(box, `Checked: ${view.status}.`, view.status === "connected" ? "ok" : "error");
      } catch (err) {
        message(box, err.detail, "error");
      }
    }),
  );
  const form = h(
    "form",
    { class: "consent", novalidate: true, "aria-label": "Admin-consent link" },
    h("div", { class: "fields" }, redirect.wrap, state.wrap),
    h("div", { class: "row" }, getLink),
    out,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(getLink, async () => {
      try {
        const answer = await get(path("orgs", org, "consent-url"), {
          redirectUri: redirect.input.value.trim(),
          state: state.input.value.trim(),
        });
        showError({ field: null }, { redirectUri: redirect }, null);
        message(box, "");
        out.replaceChildren(consentLink(answer.adminConsentUrl, "Open the admin-consent page"), " ", h("code", { class: "url", text: answer.adminConsentUrl }));
      } catch (err) {
        out.replaceChildren();
        showError(err, { redirectUri: redirect }, box, "No link");
      }
    });
  });
  get(path("orgs", org))
    .then(show)
    .catch((err) => status.replaceChildren(h("span", { class: "field-error", text: err.detail })));
  return h(
    "section",
    { class: "card", "aria-labelledby": "conn-title" },
    h("h2", { id: "conn-title", text: "Connection" }),
    status,
    h("div", { class: "row" }, again),
    box,
    form,
  );
}
