// Workers and resources: list (search, status filter, paging), link/unlink inline, add,
// delete, confirm held deletions; batch CSV for workers, room import for resources.

import { call, del, get, path, post, put } from "./api.js";
import { followJob } from "./jobs.js";
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
  newId,
  progressBar,
  setFieldError,
  showError,
  table,
  when,
} from "./ui.js";

const KINDS = {
  worker: {
    plural: "workers",
    title: "Workers",
    account: "m365Account",
    accountLabel: "Microsoft 365 account",
    columns: ["Status", "Worker", "Microsoft 365 account", "Last sync", "Actions"],
  },
  resource: {
    plural: "resources",
    title: "Resources",
    account: "mailbox",
    accountLabel: "Mailbox",
    columns: ["Status", "Resource", "Mailbox", "Last sync", "Actions"],
  },
};

/** What a link's status is, in words: linked ✔, error ✖ (why), pending, attention (held deletions)… */
export function linkState(v) {
  if (v.status === "unlinked") return { key: "unlinked", icon: "○", label: "Not linked", reason: "" };
  if (v.status === "error") {
    return { key: "error", icon: "✖", label: "Error", reason: v.error ? `${v.error.code}: ${v.error.message}` : "" };
  }
  if (v.attention) {
    const n = v.attention.heldDeletions;
    return { key: "attention", icon: "⚠", label: "Attention", reason: `${n} deletion${n === 1 ? "" : "s"} held: ${v.attention.reason}` };
  }
  if (v.health === "pending") return { key: "pending", icon: "◔", label: "Pending", reason: "linked; its first sync is on its way" };
  if (v.health === "stale") return { key: "stale", icon: "⚠", label: "Stale", reason: "no sync for over 30 minutes, or the subscription lapsed" };
  return { key: "ok", icon: "✔", label: "Linked", reason: "" };
}

export const workersScreen = (main, route) => linksScreen(main, route, "worker");
export const resourcesScreen = (main, route) => linksScreen(main, route, "resource");

function linksScreen(main, { org }, kind) {
  const k = KINDS[kind];
  const views = new Map(); // id → view, in the API's order (by id)
  const rows = new Map(); // id → <tr>
  let stopped = false;
  const stoppers = [];
  const list = table(k.title, k.columns, { captionHidden: true });
  const listBox = messageBox();
  const counter = h("p", { class: "counter", "aria-live": "polite" });
  let next = null;
  let generation = 0;

  // -- toolbar ----------------------------------------------------------------------------
  const search = field(`Search the loaded ${k.plural}`, h("input", { type: "search", autocomplete: "off" }));
  const status = field("Status", h("select", {}, [
    ["", "All"], ["linked", "Linked"], ["error", "Error"], ["unlinked", "Not linked"],
  ].map(([value, text]) => h("option", { value, text }))));
  const size = field("Rows per page", h("select", {}, ["25", "100", "500"].map((n) => h("option", { value: n, text: n, selected: n === "100" }))));
  const more = button("Load more", (e) => busy(e.currentTarget, () => load(false)));
  const all = button("Load all", (e) => busy(e.currentTarget, async () => {
    do await load(false); while (next);
  }));
  search.input.addEventListener("input", filter);
  status.input.addEventListener("change", () => load(true));
  size.input.addEventListener("change", () => load(true));

  function key(v) {
    return v[kind];
  }

  function filter() {
    const q = search.input.value.trim().toLowerCase();
    let shown = 0;
    for (const [id, tr] of rows) {
      const v = views.get(id);
      const text = [id, v.displayName, v[k.account], v.group, v.kind, linkState(v).label, v.error?.code].join(" ").toLowerCase();
      tr.hidden = Boolean(q) && !text.includes(q);
      if (!tr.hidden) shown += 1;
    }
    const total = rows.size;
    counter.textContent =
      (q ? `${shown} of ${total} loaded ${k.plural} match “${search.input.value.trim()}”` : `${total} ${k.plural} loaded`) +
      (next ? " — more to load." : ".");
    more.hidden = all.hidden = !next;
  }

  async function load(fresh) {
    const mine = fresh ? ++generation : generation;
    try {
      const page = await get(path("orgs", org, k.plural), {
        status: status.input.value,
        limit: size.input.value,
        after: fresh ? null : next,
      });
      if (mine !== generation) return; // a newer reload started meanwhile
      if (fresh) {
        views.clear();
        rows.clear();
        list.body.replaceChildren();
      }
      page[k.plural].forEach(upsert);
      next = page.next;
      message(listBox, rows.size ? "" : `No ${k.plural} ${status.input.value ? "with this status " : ""}yet.`);
    } catch (err) {
      message(listBox, `Could not list the ${k.plural}: ${err.detail}`, "error");
    }
    filter();
  }

  // -- one row ----------------------------------------------------------------------------
  function upsert(v) {
    const id = key(v);
    views.set(id, v);
    const tr = renderRow(v);
    const old = rows.get(id);
    if (old) {
      tr.hidden = old.hidden;
      old.replaceWith(tr);
    } else {
      const after = [...rows.keys()].find((other) => other > id);
      if (after) rows.get(after).before(tr);
      else list.body.append(tr);
    }
    rows.set(id, tr);
    if (v.status === "linked" && v.health === "pending") watch(id);
  }

  /** Links pending their first sync are re-read until it has run: at most SWEEP of them a
   * second (a batch of 500 does not become 500 requests a second), each at most 30 times. */
  const SWEEP = 10;
  const pending = new Map(); // id → tries left
  let sweeping = null;
  function watch(id) {
    if (!pending.has(id)) pending.set(id, 30);
    if (!sweeping) sweeping = setTimeout(sweep, 1000);
  }

  async function sweep() {
    const ids = [...pending.keys()].filter((id) => rows.has(id)).slice(0, SWEEP);
    await Promise.all(
      ids.map(async (id) => {
        const left = pending.get(id) - 1;
        try {
          const v = await get(path("orgs", org, k.plural, id));
          if (v.health !== "pending" || left <= 0) pending.delete(id);
          else pending.set(id, left);
          if (rows.has(id) && v.health !== "pending") upsert(v);
        } catch {
          pending.delete(id); // gone or unreachable: the next reload shows it
        }
      }),
    );
    for (const id of pending.keys()) if (!rows.has(id)) pending.delete(id);
    filter();
    sweeping = pending.size && !stopped ? setTimeout(sweep, 1000) : null;
  }

  function renderRow(v) {
    const id = key(v);
    const state = linkState(v);
    const note = h("p", { class: "row-note", "aria-live": "polite" });
    const statusCell = h("div", { class: "status-cell" }, badge(state.key, state.icon, state.label));
    if (state.reason) statusCell.append(h("p", { class: "reason", text: state.reason }));
    if (v.attention) {
      statusCell.append(
        button(`Confirm ${v.attention.heldDeletions} held deletions`, (e) => busy(e.currentTarget, () => confirm(v, note)), {
          class: "primary small",
          "aria-label": `Confirm the ${v.attention.heldDeletions} held deletions of ${id}`,
        }),
      );
    }
    statusCell.append(note);

    const who = h("div", {}, h("strong", { class: "id", text: id }));
    if (v.displayName && v.displayName !== id) who.append(h("div", { text: v.displayName }));
    const tags = [];
    if (kind === "worker" && v.restricted) tags.push("restricted");
    if (kind === "resource") tags.push(v.kind, v.group);
    if (tags.filter(Boolean).length) who.append(h("div", { class: "muted", text: tags.filter(Boolean).join(" · ") }));

    const actions = h("div", { class: "actions" });
    if (kind === "worker" && v.status === "linked") actions.append(h("a", { href: href(org, "push", id), text: "Push calendar", "aria-label": `Push the calendar of ${id}` }));
    actions.append(button("Delete", () => remove(v), { class: "danger", "aria-label": `Delete ${kind} ${id}` }));

    const synced = v.status === "unlinked" ? when(null) : when(v.lastSyncAt);
    return list.row([statusCell, who, accountForm(v), synced, actions], {
      dataset: { id, state: state.key },
    });
  }

  /** Link or unlink in place: a blank account unlinks. */
  function accountForm(v) {
    const id = key(v);
    const input = h("input", {
      type: "email",
      id: newId("acct"),
      autocomplete: "off",
      spellcheck: "false",
      value: v[k.account] || "",
      placeholder: "blank unlinks",
    });
    const control = { input, error: h("p", { class: "field-error", id: newId("err"), hidden: true }) };
    const save = h("button", { type: "submit", class: "small" });
    const label = () => {
      const value = input.value.trim();
      const same = value.toLowerCase() === (v[k.account] || "").toLowerCase();
      save.textContent = !value && v.status !== "unlinked" ? "Unlink" : same && v.status === "error" ? "Retry" : "Link";
      save.setAttribute("aria-label", `${save.textContent} ${id}`);
      // Nothing to do: blank and not linked, or the account it is linked to already.
      save.disabled = (!value && v.status === "unlinked") || (same && v.status === "linked");
    };
    input.addEventListener("input", label);
    label();
    const form = h(
      "form",
      { class: "inline", novalidate: true },
      h("label", { for: input.id, class: "visually-hidden", text: `${k.accountLabel} of ${id}` }),
      input,
      save,
      control.error,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(save, async () => {
        try {
          const fresh = await put(path("orgs", org, k.plural, id), { [k.account]: input.value.trim() });
          upsert(fresh);
          filter();
          const s = linkState(fresh);
          announce(`${id}: ${s.label}${s.reason ? ` — ${s.reason}` : ""}`);
          rows.get(id)?.querySelector("input[type=email]")?.focus();
        } catch (err) {
          setFieldError(control, `${err.detail}${err.status === 409 ? ` (${err.code})` : ""}`);
          input.focus();
        }
      });
    });
    return form;
  }

  async function confirm(v, note) {
    const id = key(v);
    const n = v.attention.heldDeletions;
    const sure = await confirmDialog({
      title: `Release ${n} held deletions of ${id}?`,
      body: `${v.attention.reason} Confirming reports these ${n} deletions in the change feed (and the webhook), so the booking product deletes the appointments.`,
      confirm: `Confirm ${n} deletions`,
    });
    if (!sure) return;
    try {
      const { body } = await post(path("orgs", org, k.plural, id, "confirm-deletions"));
      upsert(await get(path("orgs", org, k.plural, id)));
      filter();
      const text = `Released ${body.released} deletions of ${id} into the change feed.`;
      rows.get(id)?.querySelector(".row-note")?.replaceChildren(text);
      announce(text);
    } catch (err) {
      note.textContent = `Not confirmed: ${err.detail}`;
    }
  }

  async function remove(v) {
    const id = key(v);
    const sure = await confirmDialog({
      title: `Delete ${kind} ${id}?`,
      body: `${id} is unlinked (its subscription deleted) and forgotten. Events already in its calendar stay.`,
      confirm: `Delete ${id}`,
      danger: true,
    });
    if (!sure) return;
    try {
      await del(path("orgs", org, k.plural, id));
      rows.get(id)?.remove();
      rows.delete(id);
      views.delete(id);
      filter();
      message(listBox, `${id} deleted.`, "ok");
    } catch (err) {
      message(listBox, `${id} not deleted: ${err.detail}`, "error");
    }
  }

  // -- add ----------------------------------------------------------------------------------
  const c = {
    [kind]: field(kind === "worker" ? "Worker id" : "Resource id", h("input", { type: "text", autocomplete: "off", spellcheck: "false" })),
    [k.account]: field(k.accountLabel, h("input", { type: "email", autocomplete: "off", spellcheck: "false" }), {
      hint: kind === "worker" ? "UPN, mail or proxy address; blank registers without linking." : "A room, equipment or shared mailbox; blank unlinks.",
    }),
    displayName: field("Display name", h("input", { type: "text", autocomplete: "off" })),
  };
  if (kind === "worker") c.restricted = field("Restricted", h("input", { type: "checkbox" }));
  else c.kind = field("Kind", h("select", {}, [["", "—"], ["room", "Room"], ["equipment", "Equipment"]].map(([value, text]) => h("option", { value, text }))));
  const addBox = messageBox();
  const addButton = h("button", { type: "submit", class: "primary", text: "Save" });
  const add = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": `add-${kind}` },
    h("h2", { id: `add-${kind}`, text: kind === "worker" ? "Add or link a worker" : "Add or link a resource" }),
    h("div", { class: "fields" }, Object.values(c).map((x) => x.wrap)),
    h("div", { class: "row" }, addButton),
    addBox,
  );
  add.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(addButton, async () => {
      const id = c[kind].input.value.trim();
      if (!id) return showError({ field: kind, detail: `Enter the ${kind}'s id.` }, c, addBox);
      const body = { [k.account]: c[k.account].input.value.trim() };
      if (c.displayName.input.value.trim()) body.displayName = c.displayName.input.value.trim();
      if (c.restricted) body.restricted = c.restricted.input.checked;
      if (c.kind && c.kind.input.value) body.kind = c.kind.input.value;
      try {
        const v = await put(path("orgs", org, k.plural, id), body);
        showError({ field: null }, c, null);
        upsert(v);
        filter();
        const s = linkState(v);
        message(addBox, `${s.icon} ${id}: ${s.label}${s.reason ? ` — ${s.reason}` : ""}`, s.key === "error" ? "error" : "ok");
      } catch (err) {
        if (err.status === 409 && !err.field) err.field = k.account; // the mailbox is held elsewhere
        showError(err, c, addBox);
      }
    });
  });

  main.append(
    h("h1", { text: `${k.title} — ${org}` }),
    h(
      "section",
      { class: "card", "aria-labelledby": `list-${kind}` },
      h("h2", { id: `list-${kind}`, text: k.title }),
      h("div", { class: "toolbar" }, search.wrap, status.wrap, size.wrap, button("Refresh", (e) => busy(e.currentTarget, () => load(true)))),
      counter,
      listBox,
      h("div", { class: "scroll" }, list.el),
      h("div", { class: "row" }, more, all),
    ),
    add,
    kind === "worker" ? batchCard(org, () => load(true)) : importCard(org, () => load(true), stoppers),
  );
  more.hidden = all.hidden = true;
  load(true);
  return () => {
    stopped = true;
    clearTimeout(sweeping);
    generation += 1;
    stoppers.forEach((stop) => stop());
  };
}

// -- batch link (CSV) -----------------------------------------------------------------------

function batchCard(org, reload) {
  const file = field("CSV file", h("input", { type: "file", accept: ".csv,text/csv" }));
  const text = field("…or paste the CSV", h("textarea", {
    rows: "6",
    spellcheck: "false",
    placeholder: "worker,m365Account,displayName\nw-001,adele.vance@contoso.com,Adele Vance",
  }), { hint: "Header worker,m365Account[,displayName]; up to 1,000 rows; a blank account unlinks.", wide: true });
  file.input.addEventListener("change", async () => {
    const chosen = file.input.files[0];
    if (chosen) text.input.value = await chosen.text();
  });
  const box = messageBox();
  const out = h("div");
  const submit = h("button", { type: "submit", class: "primary", text: "Link the batch" });
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "batch-title" },
    h("h2", { id: "batch-title", text: "Link a batch (CSV)" }),
    h("div", { class: "fields" }, file.wrap, text.wrap),
    h("div", { class: "row" }, submit),
    box,
    out,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, async () => {
      out.replaceChildren();
      if (!text.input.value.trim()) return showError({ field: "body", detail: "Choose a CSV file or paste the rows." }, { body: text }, box);
      try {
        const { body } = await call("POST", path("orgs", org, "workers", "batch-link"), { body: text.input.value, contentType: "text/csv" });
        showError({ field: null }, { body: text }, null);
        const t = body.totals;
        message(box, `${t.rows} rows: ${t.linked} linked, ${t.unlinked} unlinked, ${t.error} error, ${t.invalid} invalid — ${t.changed} changed, ${t.unchanged} unchanged.`, t.error || t.invalid ? "error" : "ok");
        const results = table("Batch results, per row", ["Row", "Worker", "Result", "Detail"]);
        for (const r of body.results) {
          const s = r.status === "linked" ? badge("ok", "✔", "Linked") : r.status === "unlinked" ? badge("unlinked", "○", "Unlinked") : badge("error", "✖", r.status === "invalid" ? "Invalid" : "Error");
          const detail = r.error ? `${r.error.code}${r.error.field ? ` (${r.error.field})` : ""}: ${r.error.message}` : r.changed ? "changed" : "unchanged";
          results.body.append(results.row([String(r.row), r.worker || "—", s, detail], { dataset: { row: r.row } }));
        }
        out.replaceChildren(h("div", { class: "scroll" }, results.el));
        reload();
      } catch (err) {
        showError(err, { body: text }, box);
      }
    });
  });
  return form;
}

// -- room import ------------------------------------------------------------------------------

function importCard(org, reload, stoppers) {
  const box = messageBox();
  const bar = progressBar("Import of rooms and equipment");
  bar.wrap.hidden = true;
  const out = h("div");
  let job = null;
  stoppers.push(() => job && job.stop());
  const start = button("Import rooms", (e) =>
    busy(e.currentTarget, async () => {
      out.replaceChildren();
      message(box, "");
      try {
        const { body } = await post(path("orgs", org, "resources", "import"));
        bar.wrap.hidden = false;
        if (job) job.stop();
        await new Promise((resolve) => {
          job = followJob(org, body, (view, err) => {
            if (!view) return message(box, `Could not read the job: ${err.detail} (retrying)`, "error");
            const words = view.state === "queued" ? "discovering the tenant's rooms and equipment" : `${view.state}: ${view.processed} of ${view.total}`;
            bar.set(view.state === "done" ? 1 : view.processed, view.state === "done" ? 1 : view.total, words);
            if (view.state === "done" || view.state === "failed") {
              showImport(view, box, out);
              reload();
              resolve();
            }
          });
        });
      } catch (err) {
        message(box, `Not started: ${err.detail}`, "error");
      }
    }),
    { class: "primary" },
  );
  return h(
    "section",
    { class: "card", "aria-labelledby": "import-title" },
    h("h2", { id: "import-title", text: "Import rooms and equipment" }),
    h("p", { class: "hint", text: "Creates or updates a resource for each room (its room list becomes its group) and equipment mailbox of the tenant, and links it." }),
    h("div", { class: "row" }, start),
    bar.wrap,
    box,
    out,
  );
}

function showImport(view, box, out) {
  if (view.state === "failed") {
    message(box, `Import failed — ${view.error?.code}: ${view.error?.message}`, "error");
    return;
  }
  const t = view.totals;
  message(box, `Import done: ${t.created} created, ${t.updated} updated, ${t.unchanged} unchanged, ${t.skipped} skipped.`, "ok");
  announce(box.textContent);
  const results = table("Imported resources", ["Resource", "Kind", "Group", "Outcome", "Status"]);
  for (const r of view.results || []) {
    const s = r.status === "linked" ? badge("ok", "✔", "Linked") : badge("error", "✖", r.error ? `${r.status}: ${r.error.code}` : r.status);
    results.body.append(results.row([h("div", {}, h("strong", { text: r.resource }), h("div", { class: "muted", text: r.mailbox })), r.kind, r.group || "—", r.outcome, s]));
  }
  out.replaceChildren(h("div", { class: "scroll" }, results.el));
}
