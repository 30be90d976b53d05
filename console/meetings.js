// Find a time: POST /api/orgs/{org}/suggestions from a form; the suggestions as a table.
// Appointments: one appointment's calendars and rooms (check-ins, releases); a check-in.

import { ApiError, get, path, post } from "./api.js";
import { announce, busy, field, h, message, messageBox, showError, table } from "./ui.js";

/** "w-ada, w-bob w-cyd" → ["w-ada", "w-bob", "w-cyd"] */
const ids = (text) => text.split(/[\s,]+/).filter(Boolean);

/** A datetime-local value ("2026-12-07T09:00") as the API's wall-clock time in timeZone. */
const wall = (value) => (value.length === 16 ? `${value}:00` : value);

function localDay(offsetDays, hour) {
  const at = new Date();
  at.setDate(at.getDate() + offsetDays);
  at.setHours(hour, 0, 0, 0);
  const pad = (n) => String(n).padStart(2, "0");
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:00`;
}

export function meetingsScreen(main, { org }) {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const c = {
    required: field("Required workers", h("input", { type: "text", autocomplete: "off", spellcheck: "false" }), {
      hint: "Worker ids, separated by commas or spaces: everyone here must be free.",
    }),
    optional: field("Optional workers", h("input", { type: "text", autocomplete: "off", spellcheck: "false" }), {
      hint: "Times that suit more of them come first.",
    }),
    durationMinutes: field("Duration (minutes)", h("input", { type: "number", min: "5", max: "1440", value: "60" })),
    start: field("From", h("input", { type: "datetime-local", value: localDay(1, 8) })),
    end: field("To", h("input", { type: "datetime-local", value: localDay(5, 18) })),
    timeZone: field("Time zone", h("input", { type: "text", value: zone, spellcheck: "false" }), {
      hint: "IANA or Windows name; From, To and the answer use it.",
    }),
  };
  const wantRoom = field("Also find a room", h("input", { type: "checkbox" }));
  const room = {
    "room.capacity": field("Seats", h("input", { type: "number", min: "1", value: "2" })),
    "room.building": field("Building", h("input", { type: "text", autocomplete: "off" })),
    "room.floor": field("Floor", h("input", { type: "text", autocomplete: "off" })),
    "room.features": field("Features", h("input", { type: "text", autocomplete: "off" }), {
      hint: "Places tags the room must have, e.g. video, whiteboard.",
    }),
  };
  const roomFields = h("fieldset", { class: "fields", disabled: true }, h("legend", { text: "Room" }),
    ...Object.values(room).map((x) => x.wrap));
  wantRoom.input.addEventListener("change", () => {
    roomFields.disabled = !wantRoom.input.checked;
  });
  const box = messageBox();
  const submit = h("button", { type: "submit", class: "primary", text: "Find times" });
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "find-title" },
    h("h2", { id: "find-title", text: "Find a time" }),
    h("div", { class: "fields" }, ...Object.values(c).map((x) => x.wrap), wantRoom.wrap),
    roomFields,
    h("div", { class: "row" }, submit),
    box,
  );
  const results = h("section", { class: "card", "aria-labelledby": "found-title", hidden: true });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, async () => {
      const controls = { ...c, ...room };
      try {
        const duration = Number(c.durationMinutes.input.value);
        if (!Number.isInteger(duration)) {
          throw new ApiError(400, { code: "invalid_input", field: "durationMinutes", detail: "enter whole minutes" });
        }
        const body = {
          required: ids(c.required.input.value),
          optional: ids(c.optional.input.value),
          durationMinutes: duration,
          start: wall(c.start.input.value),
          end: wall(c.end.input.value),
          timeZone: c.timeZone.input.value.trim(),
        };
        if (wantRoom.input.checked) {
          body.room = { capacity: Number(room["room.capacity"].input.value) || 1 };
          const building = room["room.building"].input.value.trim();
          const floor = room["room.floor"].input.value.trim();
          const features = ids(room["room.features"].input.value);
          if (building) body.room.building = building;
          if (floor) body.room.floor = floor;
          if (features.length) body.room.features = features;
        }
        const answer = (await post(path("orgs", org, "suggestions"), body)).body;
        showError({ field: null }, controls, null);
        message(box, "", "info");
        showSuggestions(results, answer, wantRoom.input.checked);
      } catch (err) {
        showError(err, controls, box, "Not searched");
      }
    });
  });

  main.append(h("h1", { text: `Find a time — ${org}` }), form, results);
}

function showSuggestions(section, answer, withRooms) {
  const found = answer.suggestions;
  const headings = ["Start", "End", "Optional who can come", "Optional who cannot"];
  if (withRooms) headings.push("Rooms (best fit first)");
  const t = table("Suggested times", headings);
  for (const s of found) {
    const cells = [
      s.start,
      s.end,
      s.optionalFree.join(", ") || "—",
      s.optionalBusy.map((b) => `${b.worker} (${b.reason.replaceAll("_", " ")})`).join(", ") || "—",
    ];
    if (withRooms) cells.push(s.rooms.map((r) => `${r.name || r.resource} (${r.capacity ?? "?"})`).join(", "));
    t.body.append(t.row(cells));
  }
  const parts = [h("h2", { id: "found-title", text: `${found.length} suggestion${found.length === 1 ? "" : "s"}` })];
  parts.push(found.length ? h("div", { class: "scroll" }, t.el) : h("p", { text: "No time in that period suits everyone required." }));
  if (answer.unavailable.length) {
    const u = table("Calendars that could not be read", ["Worker or room", "Code", "Reason"]);
    answer.unavailable.forEach((x) => u.body.append(u.row([x.worker || x.resource, h("code", { text: x.code }), x.reason])));
    parts.push(h("div", { class: "scroll" }, u.el));
  }
  const rooms = withRooms ? ` Rooms matching: ${answer.roomsMatching}, asked: ${answer.roomsAsked}.` : "";
  parts.push(h("p", { class: "hint", text: `getSchedule calls: ${answer.graphCalls}.${rooms}` }));
  section.hidden = false;
  section.replaceChildren(...parts);
  announce(`${found.length} suggested times.`);
}

/** One appointment: its calendars, and its rooms' check-ins and releases; check someone in. */
export function appointmentScreen(main, { org, arg }) {
  const lookup = field("Appointment id", h("input", { type: "text", autocomplete: "off", spellcheck: "false", value: arg || "" }));
  const box = messageBox();
  const find = h("button", { type: "submit", class: "primary", text: "Show" });
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "appt-title" },
    h("h2", { id: "appt-title", text: "Find an appointment" }),
    h("div", { class: "fields" }, lookup.wrap),
    h("div", { class: "row" }, find),
    box,
  );
  const shown = h("section", { class: "card", "aria-labelledby": "shown-title", hidden: true });
  const show = async (id) => {
    const view = await get(path("orgs", org, "appointments", id));
    const t = table("Calendars", ["Mailbox", "Role", "State", "Error"]);
    view.targets.forEach((x) => t.body.append(t.row([x.mailbox || x.mailboxId || "—", x.role, x.state, x.error ? `${x.error.code}: ${x.error.message}` : "—"])));
    const r = table("Rooms: check-ins and releases", ["Room", "Occurrence", "State", "Since"]);
    (view.rooms || []).forEach((x) => r.body.append(r.row([x.resource, x.occurrence || "—", x.state.replaceAll("_", " "), x.at])));
    const c = {
      resource: field("Room (resource id)", h("input", { type: "text", autocomplete: "off", spellcheck: "false" })),
      occurrence: field("Occurrence (series only)", h("input", { type: "date" })),
    };
    const checkBox = messageBox();
    const checkIn = h(
      "form",
      { novalidate: true, "aria-labelledby": "checkin-title" },
      h("h3", { id: "checkin-title", text: "Check in to a room" }),
      h("div", { class: "fields" }, c.resource.wrap, c.occurrence.wrap),
      h("div", { class: "row" }, h("button", { type: "submit", class: "primary", text: "Check in" })),
      checkBox,
    );
    checkIn.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(checkIn.querySelector("button"), async () => {
        try {
          const body = { resource: c.resource.input.value.trim() };
          if (c.occurrence.input.value) body.occurrence = c.occurrence.input.value;
          await post(path("orgs", org, "appointments", id, "check-in"), body);
          await show(id);
          announce(`Checked in to ${body.resource}.`);
        } catch (err) {
          showError(err, c, checkBox, "Not checked in");
        }
      });
    });
    shown.hidden = false;
    shown.replaceChildren(
      h("h2", { id: "shown-title", text: `Appointment ${view.appointment}${view.deleted ? " (deleted)" : ""}` }),
      h("div", { class: "scroll" }, t.el),
      view.rooms && view.rooms.length ? h("div", { class: "scroll" }, r.el) : h("p", { class: "hint", text: "No room checked in to or released." }),
      checkIn,
    );
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(find, async () => {
      try {
        const id = lookup.input.value.trim();
        if (!id) throw new ApiError(400, { code: "invalid_input", field: "appointment", detail: "enter the appointment id" });
        await show(id);
        showError({ field: null }, { appointment: lookup }, null);
        message(box, "", "info");
      } catch (err) {
        showError(err, { appointment: lookup }, box, "Not found");
      }
    });
  });
  main.append(h("h1", { text: `Appointments — ${org}` }), form, shown);
  if (arg) find.click();
}
