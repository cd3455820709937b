// Claims shares the way a recipient does in Debian's /usr/bin/chromium (headless, through
// playwright-core) and saves what the browser hands over. Called by tests/e2e/http.rs with one JSON
// argument: { shares: [{ link, save }], outDir }. For each share it opens the link, presses OPEN
// and takes the download; when the claim renders a text page instead, it records the text and,
// with `save`, presses SAVE AS FILE and takes that download. Prints one JSON array; the Rust test
// makes the assertions.
import { chromium } from "playwright-core";
import path from "node:path";
import fs from "node:fs";

const cfg = JSON.parse(process.argv[2]);
fs.mkdirSync(cfg.outDir, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  chromiumSandbox: false,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const results = [];
try {
  for (const [i, share] of cfg.shares.entries()) {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(share.link);
    const seen = { kind: null };
    const download = page.waitForEvent("download", { timeout: 15000 }).then((d) => d, () => null);
    const shown = page.waitForSelector("#secret", { timeout: 15000 }).then(() => "page", () => null);
    await page.click("#open");
    const first = await Promise.race([download, shown]);
    let file = null;
    if (first && typeof first.suggestedFilename === "function") {
      seen.kind = "download";
      file = first;
    } else if (first === "page") {
      seen.kind = "page";
      seen.text = await page.inputValue("#secret");
      await page.screenshot({ path: path.join(cfg.outDir, `text-page-${i}.png`), fullPage: true });
      if (share.save) {
        [file] = await Promise.all([page.waitForEvent("download"), page.click("#save")]);
      }
    }
    if (file) {
      seen.name = file.suggestedFilename();
      seen.path = path.join(cfg.outDir, `received-${i}.bin`);
      await file.saveAs(seen.path);
    }
    results.push(seen);
    await context.close();
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results));
