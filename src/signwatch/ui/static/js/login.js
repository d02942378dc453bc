// Sign in: with an API token (POST /auth/session sets the session cookie), or through the organisation's
// identity provider when one is configured. A one-time link `/ui/login#token=…` (printed by `signwatch demo`)
// signs in at once; the token leaves the address bar before anything else happens.

import { $, ApiError, api, fill, signIn } from "./core.js";

function next() {
  const target = new URLSearchParams(location.search).get("next") || "/ui/";
  // only a path of this dashboard: never another site
  return target.startsWith("/ui/") && !target.startsWith("//") ? target : "/ui/";
}

async function submit(token) {
  const button = $("#login-form button");
  button.disabled = true;
  fill("#login-error");
  try {
    await signIn(token);
    location.assign(next());
  } catch (err) {
    const reason = err instanceof ApiError && err.status === 401 ? "That token is unknown, revoked or expired." : `Could not sign in: ${err.message}`;
    fill("#login-error", reason);
    $("#token").setAttribute("aria-invalid", "true");
    $("#token").focus();
    button.disabled = false;
  }
}

$("#login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  submit($("#token").value.trim());
});

function fromLink() {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (!token) return false;
  history.replaceState(null, "", location.pathname + location.search);
  submit(token);
  return true;
}

window.addEventListener("hashchange", fromLink);
if (!fromLink()) $("#token").focus();

try {
  const providers = await api("/auth/providers");
  if (providers.oidc) {
    $("#oidc-link").href = `/auth/oidc/login?next=${encodeURIComponent(next())}`;
    $("#oidc").hidden = false;
  }
} catch {
  // no identity provider sign-in on this server
}
document.body.dataset.loaded = "1";
