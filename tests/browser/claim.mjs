// Drives Debian's /usr/bin/chromium (headless, over the DevTools protocol via playwright-core)
// through every page state of a share. Called by tests/e2e/http.rs with one JSON argument:
//   { base, fileLink, textLink, passwordLink, noJsLink, outDir }
// Prints one JSON object with what it saw; the Rust test makes the assertions.
import { chromium } from "playwright-core";
import path from "node:path";
import fs from "node:fs";

const cfg = JSON.parse(process.argv[2]);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
fs.mkdirSync(cfg.outDir, { recursive: true });
const shot = (page, name) =>
  page.screenshot({ path: path.join(cfg.outDir, `${name}.png`), fullPage: true });

const browser = await chromium.launch({
  executablePath,
  headless: true,
  chromiumSandbox: false,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
const result = { csp: [], consoleErrors: [], statuses: {} };

async function open(options = {}) {
  const context = await browser.newContext({
    acceptDownloads: true,
    viewport: { width: 1024, height: 760 },
    ...options,
  });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Log.enable");
  cdp.on("Log.entryAdded", ({ entry }) => {
    if (/Content Security Policy|Content-Security-Policy/i.test(entry.text)) result.csp.push(entry.text);
  });
  page.on("console", (msg) => {
    if (msg.type() === "error") result.consoleErrors.push(msg.text());
    if (/Content Security Policy/i.test(msg.text())) result.csp.push(msg.text());
  });
  page.on("pageerror", (err) => result.consoleErrors.push(String(err)));
  page.on("response", (res) => {
    if (res.request().isNavigationRequest()) result.statuses[res.url().replace(/#.*/, "")] = res.status();
  });
  return { context, page };
}

try {
  // Home page.
  {
    const { context, page } = await open();
    await page.goto(cfg.base + "/");
    await shot(page, "home");
    await context.close();
  }
  // A file: open the link (fragment and all), press the button, receive the download.
  {
    const { context, page } = await open();
    const res = await page.goto(cfg.fileLink);
    result.fileStatusPage = res.status();
    result.keyFieldHiddenWithScript = await page.isHidden("#key-field");
    await shot(page, "armed-file");
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#open")]);
    result.fileName = download.suggestedFilename();
    const saved = path.join(cfg.outDir, "received.bin");
    await download.saveAs(saved);
    result.filePath = saved;
    // The page learns the download started and says the share is gone.
    result.fileEndState = await page
      .waitForSelector("#done", { state: "visible", timeout: 10000 })
      .then(() => page.textContent("#done"), () => null);
    result.fileEndBadge = await page.textContent("#badge");
    result.fileEndTitle = await page.title();
    await shot(page, "file-downloaded");
    // The same link again: someone got there first.
    const again = await page.reload();
    result.fileSecondStatus = again.status();
    result.fileSecondText = await page.textContent("h1");
    await shot(page, "already-opened");
    await context.close();
  }
  // A text: the claim renders it escaped with a copy button and the "destroyed" banner.
  {
    const { context, page } = await open();
    await page.goto(cfg.textLink);
    await shot(page, "armed-text");
    const [nav] = await Promise.all([page.waitForNavigation(), page.click("#open")]);
    result.textClaimStatus = nav.status();
    result.text = await page.inputValue("#secret");
    result.banner = await page.textContent(".banner");
    result.injectedElements = await page.locator("#secret ~ script, b#injected").count();
    await page.click("#copy");
    result.copiedShown = await page
      .waitForSelector("#copied", { state: "visible", timeout: 5000 })
      .then(() => true, () => false);
    await shot(page, "text-opened");
    await context.close();
  }
  // A password: a wrong one shows attempts left and burns nothing.
  {
    const { context, page } = await open();
    await page.goto(cfg.passwordLink);
    await shot(page, "armed-password");
    await page.fill("#password", "not the password");
    const [nav] = await Promise.all([page.waitForNavigation(), page.click("#open")]);
    result.wrongPasswordStatus = nav.status();
    result.wrongPasswordProblem = await page.textContent(".problem");
    await shot(page, "wrong-password");
    // The fragment survived the POST: the key is still there, only the password is asked again.
    result.keyFieldHiddenOnRetry = await page.isHidden("#key-field");
    await page.fill("#password", "right");
    const [retry] = await Promise.all([page.waitForNavigation(), page.click("#open")]);
    result.rightPasswordStatus = retry.status();
    result.passwordText = await page.inputValue("#secret");
    await context.close();
  }
  // Without scripts: the key field is there to paste into.
  {
    const { context, page } = await open({ javaScriptEnabled: false });
    await page.goto(cfg.noJsLink.split("#")[0]);
    result.keyFieldVisibleWithoutScript = await page.isVisible("#key-field");
    await page.fill("#key", cfg.noJsLink.split("#")[1]);
    await shot(page, "armed-no-script");
    const [nav] = await Promise.all([page.waitForNavigation(), page.click("#open")]);
    result.noJsClaimStatus = nav.status();
    result.noJsText = await page.inputValue("#secret");
    await context.close();
  }
  // Report abuse: the small form under the armed page; it never carries the key.
  {
    const { context, page } = await open();
    const posted = [];
    page.on("request", (req) => {
      if (req.method() === "POST") posted.push(req.url() + " " + (req.postData() || ""));
    });
    await page.goto(cfg.reportLink);
    await page.click("details.report summary");
    await page.selectOption("#reason", "malware");
    await page.fill("#details", "drops a trojan");
    await shot(page, "report-form");
    const [nav] = await Promise.all([page.waitForNavigation(), page.click("#send-report")]);
    result.reportStatus = nav.status();
    result.reportHeadline = await page.textContent("h1");
    result.reportPosts = posted;
    await shot(page, "reported");
    await context.close();
  }
  // Gone, and the narrowest phone.
  {
    const { context, page } = await open({ viewport: { width: 360, height: 740 } });
    const res = await page.goto(cfg.base + "/s/AAAAAAAAAAAAAAAA");
    result.missingStatus = res.status();
    await shot(page, "not-found-360");
    await page.goto(cfg.passwordLink);
    result.overflow360 = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    await shot(page, "armed-password-360");
    await context.close();
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result));
