// Jobs: follow one (push-calendar, room import) to its end; the push-calendar screen.

import { ApiError, get, path, post } from "./api.js";
import { announce, busy, field, h, message, messageBox, progressBar, showError, table } from "./ui.js";

/** Poll GET /api/orgs/{org}/jobs/{job} until `done` or `failed`, calling onUpdate(view) each
 * time. Returns {stop}. Errors are reported once and polling goes on (the job keeps going). */
export function followJob(org, first, onUpdate, { every = 500 } = {}) {
  let stopped = false;
  let timer = null;
  const tick = async () => {
    if (stopped) return;
    try {
      const view = await get(path("orgs", org, "jobs", first.job));
      if (stopped) return;
      onUpdate(view, null);
      if (view.state === "done" || view.state === "failed") return;
    } catch (err) {
      if (stopped || (err instanceof ApiError && err.status === 401)) return;
      onUpdate(null, err);
    }
    timer = setTimeout(tick, every);
  };
  onUpdate(first, null);
  if (first.state !== "done" && first.state !== "failed") timer = setTimeout(tick, every);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

const EXAMPLE = `[
  {"appointment": "a-1001", "title": "Haircut", "start": "2026-12-01T10:00:00",
   "end": "2026-12-01T11:00:00", "timeZone": "Europe/Oslo"}
]`;

/** The appointments to push, from what the admin pasted: an array, or {"appointments": [...]}. */
function parseAppointments(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, { code: "invalid_input", field: "appointments", detail: `not valid JSON: ${err.message}` });
  }
  if (Array.isArray(value)) return value;
  if (value && Array.isArray(value.appointments)) return value.appointments;
  throw new ApiError(400, {
    code: "invalid_input",
    field: "appointments",
    detail: 'give a JSON array of appointments, or {"appointments": [...]}',
  });
}

export function pushScreen(main, { org, arg }) {
  const workers = h("datalist", { id: "push-workers" });
  const c = {
    worker: field("Worker", h("input", { type: "text", list: "push-workers", autocomplete: "off", value: arg || "" }), {
      hint: "The worker whose calendar to push (organizer defaults to this worker).",
    }),
    appointments: field("Appointments (JSON)", h("textarea", { rows: "10", spellcheck: "false", placeholder: EXAMPLE }), {
      hint: "Up to 5,000 appointment bodies, each with its id in \"appointment\" (docs/api.md: push-calendar).",
      wide: true,
    }),
  };
  const file = field("…or a JSON file", h("input", { type: "file", accept: ".json,application/json" }));
  file.input.addEventListener("change", async () => {
    const chosen = file.input.files[0];
    if (chosen) c.appointments.input.value = await chosen.text();
  });
  const box = messageBox();
  const submit = h("button", { type: "submit", class: "primary", text: "Push calendar" });
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "push-title" },
    h("h2", { id: "push-title", text: "Push a worker's calendar" }),
    h("div", { class: "fields" }, c.worker.wrap, file.wrap, c.appointments.wrap, workers),
    h("div", { class: "row" }, submit),
    box,
  );
  const progress = h("section", { class: "card", "aria-labelledby": "job-title", hidden: true });
  let job = null;

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, async () => {
      const worker = c.worker.input.value.trim();
      try {
        if (!worker) throw new ApiError(400, { code: "invalid_input", field: "worker", detail: "enter the worker" });
        const appointments = parseAppointments(c.appointments.input.value);
        const started = await post(path("orgs", org, "workers", worker, "push-calendar"), { appointments });
        showError({ field: null }, c, null);
        message(box, `Job ${started.body.job} queued: ${started.body.total} appointments.`, "ok");
        if (job) job.stop();
        job = followJob(org, started.body, (view, err) => showJob(progress, view, err));
      } catch (err) {
        if (err.code === "worker_not_found") err.field = "worker"; // a 404 that names no field
        showError(err, c, box);
      }
    });
  });

  main.append(h("h1", { text: `Push calendar — ${org}` }), form, progress);
  get(path("orgs", org, "workers"), { status: "linked", limit: 1000 })
    .then((page) => workers.replaceChildren(...page.workers.map((w) => h("option", { value: w.worker }))))
    .catch(() => {});
  return () => job && job.stop();
}

/** The live view of a push job: a progress bar and what went wrong. */
function showJob(section, view, err) {
  if (!view) {
    section.querySelector(".poll-error")?.replaceChildren(`Could not read the job: ${err.detail} (retrying)`);
    return;
  }
  if (!section.bar) {
    section.hidden = false;
    section.bar = progressBar(`Push of ${view.worker}'s calendar`);
    section.counts = h("dl", { class: "counts" });
    section.errors = h("div");
    section.append(
      h("h2", { id: "job-title", text: `Job ${view.job}` }),
      section.bar.wrap,
      section.counts,
      h("p", { class: "poll-error field-error" }),
      section.errors,
    );
  }
  const words =
    view.state === "done"
      ? `done: ${view.succeeded} of ${view.total} pushed`
      : `${view.state}: ${view.processed} of ${view.total} processed`;
  section.bar.set(view.state === "done" ? view.total || 1 : view.processed, view.total || 1, words);
  section.querySelector(".poll-error").textContent = "";
  const counts = [
    ["Succeeded", view.succeeded],
    ["Failed", view.failed],
    ["Skipped", view.skipped],
    ["Pending", view.pending],
  ];
  section.counts.replaceChildren(...counts.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })]));
  const problems = [...(view.errors || [])];
  const stalled = view.stalled || [];
  const parts = [];
  if (problems.length) {
    const t = table("Appointments that failed or are still pending", ["Appointment", "Code", "Message"]);
    problems.forEach((e) => t.body.append(t.row([e.appointment, h("code", { text: e.code }), e.message])));
    parts.push(h("div", { class: "scroll" }, t.el));
  }
  if (stalled.length) {
    const t = table("Chunks that have not moved for 2 minutes", ["Chunk", "Processed", "Attempts", "Last progress"]);
    stalled.forEach((s) => t.body.append(t.row([s.chunk, s.processed, s.attempts, s.lastProgressAt || "never"])));
    parts.push(h("div", { class: "scroll" }, t.el));
  }
  section.errors.replaceChildren(...parts);
  if (view.state === "done") announce(`Push done: ${view.succeeded} of ${view.total} pushed, ${view.failed} failed.`);
}
