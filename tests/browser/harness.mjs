// harness.mjs - what the browser tests (console.mjs, admin.mjs) share: their
// environment, a timed step log, how Chromium is launched (Debian's
// /usr/bin/chromium, or CHROMIUM) and the console's sign-in form.

// The environment variable name; throws when it is not set.
export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

// Logs what the test does next, with the seconds since it started.
const t0 = Date.now();
export const step = (what) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${what}`);

// Options for chromium.launch / launchPersistentContext: headless, no sandbox (root in CI), no network chatter.
export const launchOptions = {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  timeout: 30000,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
};

// Opens the console at url and waits for the sign-in form.
export async function openSignIn(page, url) {
  await page.goto(url);
  await page.locator("#login-name").waitFor({ state: "visible" });
}

// Fills the open sign-in form (code: the TOTP field, when given) and submits it.
async function submitSignIn(page, name, password, code) {
  await page.fill("#login-name", name);
  await page.fill("#login-password", password);
  if (code) await page.fill("#login-totp", code);
  await page.click("#login-form button[type=submit]");
}

// Submits the open sign-in form and waits for the console.
export async function signIn(page, name, password, code) {
  await submitSignIn(page, name, password, code);
  await page.locator("#app").waitFor({ state: "visible" });
}

// Submits the open sign-in form and waits for its "wrong ..." refusal.
export async function signInRefused(page, name, password) {
  await submitSignIn(page, name, password);
  await page.locator("#login-error", { hasText: "wrong" }).waitFor({ state: "visible" });
}
