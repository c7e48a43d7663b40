// admin.mjs - the operator console's admin side in headless Chromium
// (issue #21's "Done when"): an admin signs in with a password and a TOTP
// code (computed here, RFC 6238, with node's crypto), reads the overview's
// charts (checked against SQL counts the C test made), downloads a CSV
// export (rows and masked numbers checked) and finds it in the audit view;
// a viewer sees no admin controls and reads the API's 403 when forcing one;
// a browser in Spanish gets the sign-in page in Spanish, and an English
// account that picks Español sees no English label (every visible text is
// checked against the English page and i18n.js's table), the reasons in
// Spanish and the API's refusals in Spanish.
//
// Run by tests/integration/check_browser.c. Environment:
//   CONSOLE_URL                  http://127.0.0.1:PORT/console/
//   ADMIN_NAME, ADMIN_PASSWORD, ADMIN_TOTP_SECRET (base32)
//   VIEWER_NAME, VIEWER_PASSWORD
//   SPANISH_NAME, SPANISH_PASSWORD  an English account that switches the console to Spanish
//   EXPECT_CHART   JSON {chart key: {"YYYY-MM-DD": count}} from SQL (absent days are 0)
//   EXPORT_PATIENTS  the patient numbers the conversations export must list, in order
//   SCREENSHOT     the desktop (1280x800) screenshot; "-phone" (390x844) and "-audit" beside it
// Exit 0 when every check passed; each failure prints why.
import { chromium } from "playwright-core";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { env, launchOptions, openSignIn, signIn, signInRefused, step } from "./harness.mjs";

const url = env("CONSOLE_URL");
const shot = env("SCREENSHOT");
const expectChart = JSON.parse(env("EXPECT_CHART"));
const patients = env("EXPORT_PATIENTS").split(",");
const shotAs = (suffix) => shot.replace(/\.png$/, "") + suffix + ".png";

// RFC 6238: HMAC-SHA1 of the 30-second counter, dynamic truncation, 6 digits.
function totp(base32, at = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of base32.replace(/=+$/, "")) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const off = mac[19] & 0x0f;
  return String((mac.readUInt32BE(off) & 0x7fffffff) % 1000000).padStart(6, "0");
}


// The label texts a reader sees on the sign-in page, the console and the overview: text nodes and
// title / placeholder / aria-label of rendered elements, patient content and names left out.
const visibleTexts = (pg) => pg.evaluate(() => {
  // Patient content, names, and codes that read the same in both (a patient's language: EN, ES).
  const SKIP = ".bubble, .conv-text, #conv-number, .esc-quote, #operator, .day, #console-language, .brand, .chip-lang";
  const out = new Set();
  const shown = (el) => el && el.getClientRects().length && !el.closest(SKIP) && !el.closest("[hidden]");
  const add = (t) => { t = t.trim().replace(/\s+/g, " "); if (/[A-Za-z]{2,}/.test(t)) out.add(t); };
  for (const root of ["login", "app", "overview"].map((id) => document.getElementById(id))) {
    if (!shown(root)) continue;
    const w = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = w.nextNode(); n; n = w.nextNode()) if (shown(n.parentElement)) add(n.nodeValue);
    for (const el of root.querySelectorAll("[title], [placeholder], [aria-label]")) {
      if (!shown(el)) continue;
      for (const a of ["title", "placeholder", "aria-label"]) if (el.getAttribute(a)) add(el.getAttribute(a));
    }
  }
  return [...out];
});
// What a Spanish page still shows in English: texts the English page showed, or the English table's.
const stillEnglish = async (pg, englishPage) => {
  const table = new Set(await pg.evaluate(() => window.carenavI18n.english()));
  return (await visibleTexts(pg)).filter((t) => englishPage.includes(t) || table.has(t));
};

// Errors in the page other than the refusals this test provokes (401 wrong code, 403 viewer).
function watch(page, errors, allowed) {
  page.on("console", (m) => { if (m.type() === "error" && !allowed.test(m.text())) errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.setDefaultTimeout(15000);
}

let browser;
let page;
try {
  browser = await chromium.launch(launchOptions);
  const errors = [];
  const admin = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  page = await admin.newPage();
  watch(page, errors, /status of 401/);

  step("the admin's password alone is refused: the account has a second factor");
  await openSignIn(page, url);
  const loginEnglish = await visibleTexts(page);
  if (!loginEnglish.includes("Sign in")) throw new Error(`the English sign-in page: ${loginEnglish.join(" | ")}`);
  await signInRefused(page, env("ADMIN_NAME"), env("ADMIN_PASSWORD"));

  step("sign in with the password and the TOTP code of now");
  await openSignIn(page, url);
  await signIn(page, env("ADMIN_NAME"), env("ADMIN_PASSWORD"), totp(env("ADMIN_TOTP_SECRET")));

  step("the overview's charts show the counts SQL gives, day by day");
  await page.click("#open-overview");
  await page.locator("#overview .ov-chart svg rect.bar").first().waitFor({ state: "attached" });
  const drawn = await page.evaluate(() => {
    const out = {};
    for (const box of document.querySelectorAll("#overview .ov-chart[data-key]")) {
      out[box.getAttribute("data-key")] = [...box.querySelectorAll("rect.bar title")].map((t) => t.textContent);
    }
    return out;
  });
  for (const [key, days] of Object.entries(expectChart)) {
    const bars = drawn[key];
    if (!bars || bars.length !== 14) throw new Error(`chart ${key}: ${bars ? bars.length : 0} bars, not 14`);
    for (const bar of bars) {
      const [day, value] = bar.split(": ");
      const want = days[day] || 0;
      if (Number(value) !== want) throw new Error(`chart ${key} on ${day}: drawn ${value}, SQL counts ${want}`);
    }
    for (const day of Object.keys(days)) {
      if (!bars.some((b) => b.startsWith(day + ": "))) throw new Error(`chart ${key} has no bar for ${day}`);
    }
  }
  const heights = await page.locator("#overview .ov-chart[data-key=texts_in] rect.bar").evaluateAll(
    (rs) => rs.map((r) => Number(r.getAttribute("height"))));
  if (!heights.some((h) => h > 0)) throw new Error("the texts chart draws no bar taller than 0");
  await page.screenshot({ path: shot, fullPage: false });
  step(`screenshot ${shot}`);

  step("download the conversations export: one row per conversation, numbers masked");
  await page.locator("#overview .ov-export").waitFor({ state: "visible" });
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.click("#overview .ov-export button[type=submit]"),
  ]);
  const csv = readFileSync(await download.path(), "utf8");
  const lines = csv.trimEnd().split("\n");
  if (lines[0] !== "id,patient,status,language,handoff,opted_out,created_at,last_activity_at") {
    throw new Error(`CSV header: ${lines[0]}`);
  }
  if (lines.length - 1 !== patients.length) throw new Error(`CSV has ${lines.length - 1} rows, not ${patients.length}`);
  lines.slice(1).forEach((line, i) => {
    const masked = `"***${patients[i].slice(-4)}"`;
    if (line.split(",")[1] !== masked) throw new Error(`CSV row ${i + 1}: ${line} (expected ${masked})`);
  });
  for (const p of patients) if (csv.includes(p.slice(1))) throw new Error(`the CSV shows the full number ${p}`);
  await page.click("#overview .overview-head button");

  step("the export is in the admin's audit view");
  await page.click("#open-audit");
  const row = page.locator("#audit tr[data-action=export]", { hasText: env("ADMIN_NAME") });
  await row.first().waitFor({ state: "visible" });
  if (!(await row.first().innerText()).includes("kind=conversations")) throw new Error(`audit row: ${await row.first().innerText()}`);
  await page.locator("#audit tr[data-action=login]", { hasText: env("ADMIN_NAME") }).first().waitFor();
  await page.screenshot({ path: shotAs("-audit"), fullPage: false });

  step("on a phone (390x844): the overview fits the width");
  await page.click("#audit .overview-head button");
  await page.setViewportSize({ width: 390, height: 844 });
  await page.click("#open-overview");
  await page.locator("#overview .ov-chart svg rect.bar").first().waitFor({ state: "attached" });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  const wide = await page.evaluate(() => [...document.querySelectorAll("#overview *")]
    .filter((e) => e.getBoundingClientRect().right > 391).length);
  if (width > 390 || wide) throw new Error(`the overview is ${width} px wide at 390 (${wide} elements stick out)`);
  await page.screenshot({ path: shotAs("-phone"), fullPage: false });
  step(`screenshot ${shotAs("-phone")}`);
  await admin.close();

  step("a viewer sees no admin controls");
  const viewer = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await viewer.newPage();
  watch(page, errors, /status of 40[13]/);  // 401: /api/me before signing in
  await openSignIn(page, url);
  await signIn(page, env("VIEWER_NAME"), env("VIEWER_PASSWORD"));
  await page.locator("#open-overview").waitFor({ state: "visible" });
  if (await page.locator("#open-audit").isVisible()) throw new Error("a viewer sees the audit button");
  await page.click("#open-overview");
  await page.locator("#overview .ov-chart svg rect.bar").first().waitFor({ state: "attached" });
  if (await page.locator("#overview .ov-export").isVisible()) throw new Error("a viewer sees the export form");

  step("forcing the admin views gets the API's 403, in words");
  await page.evaluate(() => window.carenavAudit.show());
  await page.locator("#audit .form-error", { hasText: "this needs the admin role" }).waitFor({ state: "visible" });
  const forced = await page.evaluate(async () => {
    const res = await fetch("/api/export?kind=conversations", { credentials: "same-origin" });
    return { status: res.status, text: await res.text() };
  });
  if (forced.status !== 403 || !forced.text.includes("this needs the admin role")) {
    throw new Error(`a viewer's export: ${forced.status} ${forced.text}`);
  }
  await viewer.close();

  step("a browser in Spanish gets the sign-in page in Spanish");
  const spanish = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "es-ES" });
  page = await spanish.newPage();
  // 401: /api/me before signing in and the wrong password; 403, 400: the refusals provoked below.
  watch(page, errors, /status of 40[013]/);
  await page.goto(url);
  await page.locator("#login-form button[type=submit]", { hasText: "Iniciar sesión" }).waitFor({ state: "visible" });
  let left = await stillEnglish(page, loginEnglish);
  if (left.length) throw new Error(`the Spanish sign-in page still says: ${left.join(" | ")}`);
  if ((await page.evaluate(() => document.documentElement.lang)) !== "es") throw new Error("the sign-in page is not lang=es");
  await page.fill("#login-name", env("SPANISH_NAME"));
  await page.fill("#login-password", "not-the-right-password");
  await page.click("#login-form button[type=submit]");
  await page.locator("#login-error", { hasText: "nombre, contraseña o código incorrectos" }).waitFor({ state: "visible" });

  step("an English account signs in there: the console is in English, the account's language");
  await openSignIn(page, url);
  await signIn(page, env("SPANISH_NAME"), env("SPANISH_PASSWORD"));
  await page.locator("#signout", { hasText: "Sign out" }).waitFor({ state: "visible" });
  if ((await page.locator("#console-language").inputValue()) !== "en") throw new Error("the picker does not say English");
  // The console's views in turn: an escalated conversation with its timeline, the resolve dialog, the
  // call-backs tab, the overview. Returns every text seen; ends with the conversation open.
  const tour = async () => {
    const seen = [];
    const look = async () => seen.push(...(await visibleTexts(page)));
    await page.locator(".esc-card .esc-code").first().click();
    await page.locator(".msg.in .bubble").first().waitFor({ state: "visible" });
    await page.locator("#esc-panel .esc-timeline summary").click();
    await page.locator("#esc-panel .timeline li").first().waitFor({ state: "visible" });
    await look();
    await page.click("#btn-resolve");
    await page.locator("#resolve-dialog").waitFor({ state: "visible" });
    await look();
    await page.click("#resolve-cancel");
    await page.locator("#resolve-dialog").waitFor({ state: "hidden" });
    await page.click(".tab[data-tab=callbacks]");
    await page.locator("#pane-callbacks").waitFor({ state: "visible" });
    await look();
    await page.click(".tab[data-tab=conversations]");
    await page.click("#open-overview");
    await page.locator("#overview .ov-chart svg rect.bar").first().waitFor({ state: "attached" });
    await look();
    await page.click("#overview .overview-head button");
    return seen;
  };
  const appEnglish = await tour();
  if (!appEnglish.includes("How did it end?") || !appEnglish.includes("Texts received per day")) {
    throw new Error(`the tour missed a view: ${appEnglish.join(" | ")}`);
  }

  step("the operator picks Español: the console reloads in Spanish, no English label left");
  await page.selectOption("#console-language", "es");
  await page.locator("#signout", { hasText: "Cerrar sesión" }).waitFor({ state: "visible" });
  if ((await page.locator("#console-language").inputValue()) !== "es") throw new Error("the picker does not say Español");
  const appSpanish = await tour();
  left = [...new Set(appSpanish.filter((t) => appEnglish.includes(t)))];
  left.push(...(await stillEnglish(page, appEnglish)));
  if (left.length) throw new Error(`the Spanish console still says: ${left.join(" | ")}`);
  await page.screenshot({ path: shotAs("-es"), fullPage: false });
  step(`screenshot ${shotAs("-es")}`);

  step("the API's refusals reach her in Spanish: a text too long, an admin view forced");
  await page.fill("#reply-text", "a".repeat(1601));
  await page.locator("#reply-send").click();
  await page.locator("#toast.error", { hasText: "demasiado largo para un mensaje: 1601 caracteres" }).waitFor({ state: "visible" });
  await page.evaluate(() => window.carenavAudit.show());
  await page.locator("#audit .form-error", { hasText: "No se pudo cargar el registro de auditoría: esto necesita el rol " +
    `admin; ${env("SPANISH_NAME")} tiene el rol responder` }).waitFor({ state: "visible" });
  await spanish.close();
  if (errors.length) throw new Error(`errors in the page: ${errors.join(" | ")}`);
  step("all admin console checks passed");
} catch (err) {
  console.error(`admin console test failed: ${err.message}`);
  process.exitCode = 1;
  if (page) await page.screenshot({ path: shotAs("-failed") }).catch(() => {});
} finally {
  if (browser) await browser.close();
}
