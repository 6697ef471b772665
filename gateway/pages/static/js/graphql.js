// The pages' only way to the platform: POST /graphql with the browser's cookie session.
//
// The session cookie is HttpOnly; its CSRF twin is readable and echoed in a header,
// as the gateway requires for every cookie-authenticated request.

const ENDPOINT = "/graphql";
const CSRF_COOKIE = "fanfare_csrf";

function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

function headers() {
  // Ask signUp/logIn for a cookie session rather than a bearer token.
  const result = { "X-Fanfare-Session": "cookie" };
  const csrf = cookie(CSRF_COOKIE);
  if (csrf) result["X-CSRF-Token"] = csrf;
  return result;
}

const sessionListeners = [];

/** Call `listener()` when the gateway says the session has ended. */
export function onSessionEnded(listener) {
  sessionListeners.push(listener);
}

/** True while a session cookie's CSRF twin is present (the session may still have ended). */
export function hasSession() {
  return cookie(CSRF_COOKIE) !== "";
}

function settle(status, body) {
  if (status === 401) sessionListeners.forEach((listener) => listener());
  if (!body || typeof body !== "object") {
    return {
      data: null,
      errors: [{ message: "The server sent an unexpected answer; try again.", extensions: { code: "BAD_RESPONSE" } }],
      status,
    };
  }
  return { data: body.data ?? null, errors: body.errors ?? [], status };
}

const NETWORK_FAILURE = {
  data: null,
  errors: [{ message: "Fanfare cannot be reached; check your connection and try again.", extensions: { code: "NETWORK" } }],
  status: 0,
};

/** Run one GraphQL operation; resolves to {data, errors, status}, never rejects. */
export async function graphql(query, variables = {}) {
  let response;
  try {
    response = await fetch(ENDPOINT, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", ...headers() },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    return NETWORK_FAILURE;
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return settle(response.status, body);
}

/**
 * Run a mutation with one file (the GraphQL multipart request spec), reporting progress.
 * `filePath` is where the file goes in the variables, e.g. "input.file".
 */
export function graphqlUpload(query, variables, filePath, file, onProgress) {
  return new Promise((resolve) => {
    const form = new FormData();
    form.append("operations", JSON.stringify({ query, variables }));
    form.append("map", JSON.stringify({ 0: [`variables.${filePath}`] }));
    form.append("0", file, file.name);
    const request = new XMLHttpRequest();
    request.open("POST", ENDPOINT);
    for (const [name, value] of Object.entries(headers())) request.setRequestHeader(name, value);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      let body = null;
      try {
        body = JSON.parse(request.responseText);
      } catch {
        body = null;
      }
      resolve(settle(request.status, body));
    });
    request.addEventListener("error", () => resolve(NETWORK_FAILURE));
    request.send(form);
  });
}

/** The services whose outage cost the fields under `prefix` (an alias or field name). */
export function unavailableUnder(result, prefix) {
  const services = new Set();
  for (const error of result.errors) {
    const code = error.extensions && error.extensions.code;
    const path = error.path || [];
    if (code === "SERVICE_UNAVAILABLE" && (prefix === undefined || path[0] === prefix)) {
      services.add(error.extensions.service || "a service");
    }
  }
  return [...services];
}

/** A top-level error under `prefix` that is not an outage (permission, limits...). */
export function failureUnder(result, prefix) {
  return result.errors.find((error) => {
    const code = error.extensions && error.extensions.code;
    const path = error.path || [];
    return code !== "SERVICE_UNAVAILABLE" && (prefix === undefined || path.length === 0 || path[0] === prefix);
  });
}
