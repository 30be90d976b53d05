// The documented API (docs/api.md), called with the app's function key (x-functions-key) or an
// org key (Authorization: Bearer csk_…). The key lives in sessionStorage only: never in a URL.

const KEY = "calsync.functionKey";
const BASE = new URL("../", import.meta.url); // /api/ (the console is served at /api/console/…)

/** An org key (docs/operations.md): it reaches one organisation's screens. */
export const isOrgKey = (value) => /^csk_/.test(value || "");

export const key = {
  get: () => sessionStorage.getItem(KEY) || "",
  set: (value) => sessionStorage.setItem(KEY, value),
  clear: () => sessionStorage.removeItem(KEY),
};

/** An answer that is not 2xx: RFC 9457 problem+json with `code`, `detail` and, for invalid
 * input, `field` (docs/api.md; shared/core/errors.py). Azure's own 401 has no body. */
export class ApiError extends Error {
  constructor(status, problem) {
    const body = problem && typeof problem === "object" ? problem : {};
    super(body.detail || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || (status === 401 ? "unauthorized" : `http_${status}`);
    this.detail = body.detail || (status === 401 ? "the key was refused" : `the API answered ${status}`);
    this.field = body.field || null;
    this.problem = body;
  }
}

const unauthorizedHandlers = [];
export function onUnauthorized(handler) {
  unauthorizedHandlers.push(handler);
}

/** A path from segments, each encoded: path("orgs", org, "workers") → "orgs/acme/workers". */
export function path(...segments) {
  return segments.map((s) => encodeURIComponent(String(s))).join("/");
}

/**
 * Call the API. `body`: an object (sent as JSON) or a string (sent with `contentType`).
 * Resolves to {status, body}; rejects with ApiError (401 also tells onUnauthorized handlers).
 */
export async function call(method, route, { query = {}, body, contentType } = {}) {
  const url = new URL(route, BASE);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, String(value));
  }
  const headers = { Accept: "application/json, application/problem+json" };
  if (isOrgKey(key.get())) headers.Authorization = `Bearer ${key.get()}`;
  else headers["x-functions-key"] = key.get();
  let payload;
  if (typeof body === "string") {
    payload = body;
    headers["Content-Type"] = contentType || "text/plain";
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body: payload, cache: "no-store", credentials: "omit" });
  } catch (err) {
    throw new ApiError(0, { code: "network_error", detail: `calsync could not be reached (${err.message})` });
  }
  const type = response.headers.get("content-type") || "";
  let data = null;
  if (response.status !== 204 && type.includes("json")) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401) unauthorizedHandlers.forEach((handler) => handler(error));
    throw error;
  }
  return { status: response.status, body: data };
}

export const get = (route, query) => call("GET", route, { query }).then((r) => r.body);
export const put = (route, body) => call("PUT", route, { body }).then((r) => r.body);
export const del = (route) => call("DELETE", route).then((r) => r.body);
export const post = (route, body, contentType) => call("POST", route, { body, contentType });
