// console.mjs - drives the operator console in headless Chromium (Debian's
// /usr/bin/chromium through playwright-core, no downloaded browser).
//
// Run by tests/integration/check_browser.c, which starts the real gateway
// with a seeded conversation and open escalation and checks the database
// afterwards. Environment:
//   CONSOLE_URL    http://127.0.0.1:PORT/console/
//   CONSOLE_TOKEN  an operator token
//   CONSOLE_OPERATOR, CONSOLE_PASSWORD  an operator account: when set, the
//                  console is signed in with the password (a session cookie +
//                  CSRF token) instead of the token
//   ESC_CODE       the open escalation's code, expected on the page
//   PATIENT_LAST4  the last 4 digits of the seeded patient's number
//   SCREENSHOT     where to save the screenshot (PNG); SCREENSHOT_DETAIL too
// Exit 0 when every check passed; each failure prints why.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const url = env("CONSOLE_URL");
const token = env("CONSOLE_TOKEN");
const operator = process.env.CONSOLE_OPERATOR;
const password = process.env.CONSOLE_PASSWORD;
const code = env("ESC_CODE");
const last4 = env("PATIENT_LAST4");
const shot = env("SCREENSHOT");
const shotDetail = process.env.SCREENSHOT_DETAIL;
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";

const profile = mkdtempSync(join(tmpdir(), "carenav-chromium-"));
let context;
let page;
const t0 = Date.now();
const step = (what) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${what}`);

try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1440, height: 900 },
    deviceScaleFactor: 1,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    timeout: 30000,
  });
  page = context.pages()[0] || (await context.newPage());
  const consoleErrors = [];
  // The deliberate wrong-token sign-in logs one failed (401) request; anything else is a bug.
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of 401/.test(m.text())) consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  page.setDefaultTimeout(15000);

  step(`open ${url}`);
  await page.goto(url);
  await page.locator("#login-name").waitFor({ state: "visible" });

  if (operator && password) {
    step("a wrong password is refused");
    await page.fill("#login-name", operator);
    await page.fill("#login-password", "not-the-right-password");
    await page.click("#login-form button[type=submit]");
    await page.locator("#login-error", { hasText: "wrong" }).waitFor({ state: "visible" });

    step(`sign in as ${operator} with the password`);
    await page.fill("#login-name", operator);
    await page.fill("#login-password", password);
    await page.click("#login-form button[type=submit]");
    await page.locator("#app").waitFor({ state: "visible" });
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === "carenav_session");
    if (!session || !session.httpOnly || session.sameSite !== "Strict") {
      throw new Error(`session cookie: ${JSON.stringify(session)}`);
    }
  } else {
    await page.click(".login-token summary");
    step("a wrong token is refused");
    await page.fill("#token", "not-the-right-token-at-all");
    await page.click("#login-form button[type=submit]");
    await page.locator("#login-error").waitFor({ state: "visible" });

    step("sign in");
    await page.fill("#token", token);
    await page.click("#login-form button[type=submit]");
    await page.locator("#app").waitFor({ state: "visible" });
  }

  step(`the open escalation ${code} is shown`);
  const card = page.locator(`.esc-card[data-code="${code}"]`);
  await card.waitFor({ state: "visible" });
  const cardText = await card.innerText();
  if (!cardText.includes(last4)) throw new Error(`escalation card lacks the patient's last digits: ${cardText}`);

  step("the conversation is listed, its number masked");
  const item = page.locator(".conv-item", { hasText: last4 }).first();
  await item.waitFor({ state: "visible" });
  const itemText = await item.innerText();
  if (!itemText.includes("***" + last4)) throw new Error(`list item is not masked: ${itemText}`);

  step("open the conversation: the transcript shows the patient's text and the full number");
  await item.click();
  await page.locator(".msg.in .bubble").first().waitFor({ state: "visible" });
  const number = await page.locator("#conv-number").innerText();
  if (!number.endsWith(last4) || number.includes("*")) throw new Error(`conversation view number: ${number}`);
  await page.locator("#live.ok").waitFor();

  step("the text the retention purge blanked says so, and no bubble is empty");
  const purged = await page.locator(".msg.in .bubble.purged").allInnerTexts();
  if (purged.length !== 1 || !purged[0].includes("Text removed")) throw new Error(`purged bubbles: ${JSON.stringify(purged)}`);
  const empty = (await page.locator(".bubble").allInnerTexts()).filter((t) => t.trim() === "");
  if (empty.length) throw new Error(`${empty.length} empty bubble(s) in the transcript`);
  await page.screenshot({ path: shot, fullPage: false });
  step(`screenshot ${shot}`);

  step("click Acknowledge on the escalation card");
  await card.locator("button[data-action=ack]").click();
  await page.locator("#toast", { hasText: "acknowledged" }).waitFor({ state: "visible" });
  await card.waitFor({ state: "detached" });
  await page.locator(".chip-ack", { hasText: "Acknowledged" }).waitFor({ state: "visible" });
  if (shotDetail) {
    await page.screenshot({ path: shotDetail, fullPage: false });
    step(`screenshot ${shotDetail}`);
  }
  step("the overview draws its charts");
  await page.click("#open-overview");
  await page.locator("#overview .ov-chart svg rect.bar").first().waitFor({ state: "attached" });
  const tiles = await page.locator("#overview .ov-tile[data-key=escalations_in_progress] .ov-num").innerText();
  if (tiles !== "1") throw new Error(`overview: acknowledged escalations shown as ${tiles}, not 1`);
  await page.screenshot({ path: shot.replace(/\.png$/, "") + "-overview.png", fullPage: false });
  await page.click("#overview .overview-head button");
  step("in Spanish (an account with --language es): labels change, the patient's words do not");
  const bubblesBefore = await page.locator(".bubble").allInnerTexts();
  await page.evaluate(() => window.carenavI18n.apply("es"));
  await page.locator("#btn-handoff", { hasText: "Tomar el control" }).waitFor({ state: "visible" });
  await page.locator("#signout", { hasText: "Cerrar sesión" }).waitFor({ state: "visible" });
  const bubblesAfter = await page.locator(".bubble").allInnerTexts();
  if (JSON.stringify(bubblesBefore) !== JSON.stringify(bubblesAfter)) {
    throw new Error(`patient text changed: ${JSON.stringify(bubblesAfter)}`);
  }
  await page.screenshot({ path: shot.replace(/\.png$/, "") + "-es.png", fullPage: false });
  if (operator && password) {
    step("sign out ends the session");
    await page.click("#signout");
    await page.locator("#login").waitFor({ state: "visible" });
    await page.reload();
    await page.locator("#login-name").waitFor({ state: "visible" });
    if (await page.locator("#app").isVisible()) throw new Error("still signed in after sign-out and reload");
  }
  if (consoleErrors.length) throw new Error(`errors in the page: ${consoleErrors.join(" | ")}`);
  step("all console checks passed");
} catch (err) {
  console.error(`console test failed: ${err.message}`);
  process.exitCode = 1;
  if (page) await page.screenshot({ path: shot.replace(/\.png$/, "") + "-failed.png" }).catch(() => {});
} finally {
  if (context) await context.close();
  rmSync(profile, { recursive: true, force: true });
}
