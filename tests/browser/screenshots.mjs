// Screenshots of every web page at 1280×800 (desktop) and 390×844 (phone) in headless
// Chromium (playwright-core, Debian's /usr/bin/chromium), for docs/screenshots/web/.
// Called by docs/screenshots/capture.sh with one JSON argument:
//   { base, textLink, fileLink, passwordLink, lockLink, reportLink, outDir }
// Each link is used up by the walk (claimed, locked or reported), so the script gets fresh ones.
import { chromium } from "playwright-core";
import path from "node:path";
import fs from "node:fs";

const cfg = JSON.parse(process.argv[2]);
fs.mkdirSync(cfg.outDir, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  chromiumSandbox: false,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const sizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
const links = (name) => cfg[name][currentSize];
let currentSize = "desktop";

async function page(size) {
  const context = await browser.newContext({
    viewport: sizes[size],
    deviceScaleFactor: 1,
    acceptDownloads: true,
    isMobile: size === "phone",
    hasTouch: size === "phone",
  });
  return { context, page: await context.newPage() };
}
// A link of the page already shown would only move to its fragment: leave first, so every
// visit loads the page afresh.
const visit = async (p, url) => {
  await p.goto("about:blank");
  return p.goto(url);
};
const shot = (p, name) =>
  p.screenshot({ path: path.join(cfg.outDir, `${name}-${currentSize}.png`), fullPage: false });

try {
  for (const size of Object.keys(sizes)) {
    currentSize = size;
    const { context, page: p } = await page(size);
    await p.goto(cfg.base + "/");
    await shot(p, "home");
    await p.goto(cfg.base + "/no/such/page");
    await shot(p, "not-found");
    // A text share: the status page, then the claimed text.
    await visit(p, links("textLink"));
    await shot(p, "armed-text");
    await Promise.all([p.waitForNavigation(), p.click("#open")]);
    await shot(p, "text-opened");
    // The same link again.
    await visit(p, links("textLink"));
    await shot(p, "already-opened");
    // A file: the download starts, the page says the share is destroyed.
    await visit(p, links("fileLink"));
    await shot(p, "armed-file");
    const [download] = await Promise.all([p.waitForEvent("download"), p.click("#open")]);
    await download.path();
    await p.waitForSelector("#done", { state: "visible", timeout: 10000 });
    await shot(p, "file-download-started");
    // A password: the page asks for it; a wrong one says how many attempts are left.
    await visit(p, links("passwordLink"));
    await shot(p, "armed-password");
    await p.fill("#password", "not the password");
    await Promise.all([p.waitForNavigation(), p.click("#open")]);
    await shot(p, "wrong-password");
    // Locked after too many wrong passwords.
    for (let i = 0; i < 5; i++) {
      await visit(p, links("lockLink"));
      await p.fill("#password", "wrong " + i);
      await Promise.all([p.waitForNavigation(), p.click("#open")]);
    }
    await shot(p, "locked");
    // Report abuse.
    await visit(p, links("reportLink"));
    await p.click("details.report summary");
    await p.selectOption("#reason", "phishing");
    await p.fill("#details", "asks for my bank password");
    await shot(p, "report-form");
    await Promise.all([p.waitForNavigation(), p.click("#send-report")]);
    await shot(p, "reported");
    await context.close();
  }
} finally {
  await browser.close();
}
