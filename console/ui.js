// DOM helpers. Every value from the API goes in as text (textContent), never as markup.

/** The console's address of a screen: #/orgs/{org}/{screen}[/{arg}]. */
export function href(org, screen, arg) {
  const bits = ["orgs", org, screen, arg].filter(Boolean).map((b) => encodeURIComponent(b));
  return `#/${bits.join("/")}`;
}

let uid = 0;
export const newId = (prefix = "id") => `${prefix}-${++uid}`;

/** h("button", {class: "x", onclick: f, disabled: true}, "text", child, …) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** Say something to screen readers (the page's polite live region) and show it in `where`. */
export function announce(text) {
  const region = document.getElementById("announce");
  region.textContent = "";
  // A change of content is what makes screen readers speak; set it on the next frame.
  requestAnimationFrame(() => {
    region.textContent = text;
  });
}

/** A labelled form control with a place for its error: {wrap, input, error}. */
export function field(label, input, { hint, wide } = {}) {
  input.id = input.id || newId("f");
  const error = h("p", { class: "field-error", id: newId("err"), hidden: true });
  const parts = [h("label", { for: input.id, text: label })];
  if (hint) {
    const hintEl = h("p", { class: "hint", id: newId("hint"), text: hint });
    input.setAttribute("aria-describedby", hintEl.id);
    parts.push(hintEl);
  }
  const isCheck = input.type === "checkbox";
  const wrap = h("div", { class: `field${isCheck ? " check" : ""}${wide ? " wide" : ""}` });
  if (isCheck) append(wrap, [input, ...parts, error]);
  else append(wrap, [...parts, input, error]);
  return { wrap, input, error };
}

/** Show `text` as the error of one control (aria-invalid, described by the message). */
export function setFieldError(control, text) {
  const { input, error } = control;
  const described = (input.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && x !== error.id);
  if (text) {
    error.textContent = text;
    error.hidden = false;
    input.setAttribute("aria-invalid", "true");
    described.push(error.id);
  } else {
    error.textContent = "";
    error.hidden = true;
    input.removeAttribute("aria-invalid");
  }
  if (described.length) input.setAttribute("aria-describedby", described.join(" "));
  else input.removeAttribute("aria-describedby");
}

/**
 * An API error shown where it belongs: at the control its `field` names (controls:
 * {fieldName: control}, prefix matches like `appointments[2].end` → `appointments`), else
 * in the form's message box. Returns the control that got it (focused), if any.
 */
export function showError(err, controls, box, verb = "Not saved") {
  for (const control of Object.values(controls)) setFieldError(control, "");
  const fieldName = err.field || "";
  const target =
    controls[fieldName] ||
    Object.entries(controls).find(([name]) => fieldName.startsWith(`${name}[`) || fieldName.startsWith(`${name}.`))?.[1];
  const text = `${err.detail}${err.code && err.status !== 400 ? ` (${err.code})` : ""}`;
  if (target) {
    setFieldError(target, text);
    target.input.focus();
  }
  if (box) message(box, target ? `${verb}: ${fieldName} — see the field.` : `${verb}: ${text}`, "error");
  return target;
}

/** A form's message box (role=status, or role=alert for errors). */
export function messageBox() {
  return h("div", { class: "message", role: "status", "aria-live": "polite", hidden: true });
}

export function message(box, text, kind = "info") {
  box.hidden = !text;
  box.className = `message ${kind}`;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  box.textContent = text || "";
}

/** A progress bar: role=progressbar with aria-valuenow, and a text that says the same. */
export function progressBar(label) {
  const fill = h("span", { class: "fill" });
  const bar = h("div", {
    class: "progress",
    role: "progressbar",
    "aria-label": label,
    "aria-valuemin": "0",
    "aria-valuemax": "100",
    "aria-valuenow": "0",
  }, fill);
  const text = h("p", { class: "progress-text", "aria-live": "polite" });
  const wrap = h("div", { class: "progress-wrap" }, bar, text);
  return {
    wrap,
    set(done, total, words) {
      const pct = total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
      bar.setAttribute("aria-valuenow", String(pct));
      bar.setAttribute("aria-valuetext", `${pct} % — ${words}`);
      fill.style.width = `${pct}%`; // CSSOM, allowed by the CSP (no inline style attribute)
      text.textContent = `${pct} % — ${words}`;
    },
  };
}

/** A modal confirmation (<dialog>): resolves true when confirmed. Focus returns after. */
export function confirmDialog({ title, body, confirm, danger = false }) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const titleId = newId("dlg");
    const dialog = h("dialog", { "aria-labelledby": titleId, class: "dialog" });
    const yes = h("button", { type: "button", class: danger ? "danger" : "primary", text: confirm });
    const no = h("button", { type: "button", text: "Cancel" });
    append(dialog, [h("h2", { id: titleId, text: title }), h("p", { text: body }), h("div", { class: "row" }, yes, no)]);
    const done = (answer) => {
      dialog.close();
      dialog.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(answer);
    };
    yes.addEventListener("click", () => done(true));
    no.addEventListener("click", () => done(false));
    dialog.addEventListener("cancel", (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    no.focus();
  });
}

/** "2026-11-27T19:20:31.839123Z" → local "27 Nov 2026, 20:20:31" (title: the exact UTC time). */
export function when(value) {
  if (!value) return h("span", { class: "muted", text: "—" });
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) return h("span", { text: value });
  const text = at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
  return h("time", { datetime: value, title: value, text });
}

/** A table whose rows become stacked cards on narrow screens (each cell says its column). */
export function table(caption, columns, { captionHidden = false } = {}) {
  const body = h("tbody");
  const el = h(
    "table",
    { class: "grid" },
    h("caption", { class: captionHidden ? "visually-hidden" : "", text: caption }),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", text: c })))),
    body,
  );
  return {
    el,
    body,
    row(cells, attrs = {}) {
      return h("tr", attrs, cells.map((cell, i) => h("td", { "data-label": columns[i] }, cell)));
    },
  };
}

/** A status badge: an icon (hidden from screen readers) and the words that say it. */
export function badge(kind, icon, label) {
  return h("span", { class: `badge ${kind}` }, h("span", { class: "icon", "aria-hidden": "true", text: icon }), label);
}

export function button(label, onclick, attrs = {}) {
  return h("button", { type: "button", onclick, ...attrs }, label);
}

/** Run `fn` with the button disabled and aria-busy, whatever happens. */
export async function busy(btn, fn) {
  btn.disabled = true;
  btn.setAttribute("aria-busy", "true");
  try {
    return await fn();
  } finally {
    btn.disabled = false;
    btn.removeAttribute("aria-busy");
  }
}
