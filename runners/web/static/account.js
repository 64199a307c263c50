// The pages an emailed link opens: email verification and password reset.
// The token travels in the URL fragment (#token=...), which browsers never send to a server, so it
// stays out of access logs and Referer headers; it is removed from the address bar once read.

const API = "/api/v1/auth";

function takeToken() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token");
  if (token) history.replaceState(null, "", location.pathname);
  return token;
}

function say(text) {
  document.getElementById("account-status").textContent = text;
}

async function post(path, body) {
  const response = await fetch(API + path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  let error = null;
  if (!response.ok) {
    try {
      error = (await response.json()).error;
    } catch {
      error = { code: "unavailable", message: "the server did not answer; try again later" };
    }
  }
  return { status: response.status, error };
}

function explain(error) {
  if (error.code === "link_invalid") return "This link is invalid, has expired or was used already.";
  if (error.code === "too_many_link_requests") return "Too many requests; please wait a while and try again.";
  return error.message;
}

async function verifyEmail() {
  const token = takeToken();
  if (!token) return say("This page needs the link from your email.");
  const { error } = await post("/verify-email", { token });
  say(error ? explain(error) : "Your email address is verified. Thank you!");
}

function resetPassword() {
  const token = takeToken();
  const request = document.getElementById("reset-request-form");
  const confirm = document.getElementById("reset-confirm-form");
  if (!token) {
    request.hidden = false;
    request.addEventListener("submit", async (event) => {
      event.preventDefault();
      const { error } = await post("/password-reset", { email: request.elements.email.value });
      say(error ? explain(error) : "If an account has this address, a link to reset its password is on its way.");
    });
    return;
  }
  confirm.hidden = false;
  confirm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const password = confirm.elements.password.value;
    if (password !== confirm.elements.repeat.value) return say("The two passwords differ.");
    const { error } = await post("/password-reset/confirm", { token, password });
    if (error) return say(explain(error));
    confirm.hidden = true;
    say("Your password is set. Every session of your account was signed out; log in with the new password.");
  });
}

if (document.body.dataset.page === "verify-email") verifyEmail();
if (document.body.dataset.page === "reset-password") resetPassword();
