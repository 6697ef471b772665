// Who is signed in, and the sign-up, log-in and log-out flows both pages share.

import { graphql } from "./graphql.js";
import { busy, field, formValues, h, input, showErrors, showTopLevelFailure } from "./ui.js";

const USER_FIELDS = "id displayName email role thankYouChannel";

/** The signed-in user (gateway fields only, so it loads while a service is down), or null. */
export async function loadViewer() {
  const result = await graphql(`query Viewer { viewer { user { ${USER_FIELDS} } } }`);
  return result.data && result.data.viewer ? result.data.viewer.user : null;
}

const SIGN_UP = `mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) { user { ${USER_FIELDS} } errors { field message code } }
}`;
const LOG_IN = `mutation LogIn($input: LogInInput!) {
  logIn(input: $input) { user { ${USER_FIELDS} } errors { field message code } }
}`;

/** The log-in form; `onSignedIn(user)` runs once the cookie session is set. */
export function logInForm(onSignedIn, { heading = "Log in", extra = null } = {}) {
  const form = h(
    "form",
    { class: "card form", novalidate: true, "aria-labelledby": "login-heading" },
    h("h1", { id: "login-heading" }, heading),
    field("Email", input("email", { type: "email", autocomplete: "username", required: true })),
    field("Password", input("password", { type: "password", autocomplete: "current-password", required: true })),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Log in")),
    extra,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    await busy(button, async () => {
      const values = formValues(form);
      const result = await graphql(LOG_IN, { input: { email: values.email, password: values.password } });
      if (showTopLevelFailure(form, result, "logIn")) return;
      const payload = result.data.logIn;
      if (showErrors(form, payload.errors)) return;
      onSignedIn(payload.user);
    });
  });
  return form;
}

/** The sign-up form for fans. */
export function signUpForm(onSignedIn) {
  const form = h(
    "form",
    { class: "card form", novalidate: true, "aria-labelledby": "signup-heading" },
    h("h1", { id: "signup-heading" }, "Join Fanfare"),
    h("p", {}, "Share the stories you love, see who they reach, and get thanked the way you like."),
    field("Display name", input("displayName", { autocomplete: "nickname", required: true }), "Shown on the leaderboard."),
    field("Email", input("email", { type: "email", autocomplete: "email", required: true })),
    field(
      "Password",
      input("password", { type: "password", autocomplete: "new-password", required: true, minlength: 8 }),
      "At least 8 characters.",
    ),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Sign up")),
    h("p", {}, "Already a fan? ", h("a", { href: "#/login" }, "Log in")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    await busy(button, async () => {
      const values = formValues(form);
      const result = await graphql(SIGN_UP, {
        input: { email: values.email, password: values.password, displayName: values.displayName },
      });
      if (showTopLevelFailure(form, result, "signUp")) return;
      const payload = result.data.signUp;
      if (showErrors(form, payload.errors)) return;
      onSignedIn(payload.user);
    });
  });
  return form;
}

/** End the session on the server (the cookie is cleared by the answer). */
export async function logOut() {
  await graphql("mutation LogOut { logOut { ok errors { message } } }");
}
