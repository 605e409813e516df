// The whole flow in headless Chromium (Debian's, never a downloaded browser): a website page and
// a wallet page, in separate browser contexts (two devices), both served by the node, pair with
// the unmodified liquid-client and exchange messages over the `liquid` WebRTC data channel.
//   node browser_e2e.mjs ORIGIN SCREENSHOT_DIR     -> one JSON line with what each side saw
import { chromium } from "playwright-core";

const [origin, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--allow-loopback-in-peer-connection",
  ],
});
const timeout = 30000;
try {
  const device = async () => {
    const context = await browser.newContext();
    // Host ICE candidates are only exposed (instead of mDNS names) to pages holding a media
    // permission; nothing is captured.
    await context.grantPermissions(["camera", "microphone"], { origin });
    const page = await context.newPage();
    page.setDefaultTimeout(timeout);
    page.on("console", (message) => process.stderr.write(`[page] ${message.text()}\n`));
    page.on("pageerror", (error) => process.stderr.write(`[page error] ${error.message}\n`));
    page.on("crash", () => process.stderr.write("[page crashed]\n"));
    return page;
  };
  const website = await device();
  const wallet = await device();
  await website.goto(`${origin}/website.html`);
  await wallet.goto(`${origin}/wallet.html`);
  const cdp = await wallet.context().newCDPSession(wallet);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2", ctap2Version: "ctap2_1", transport: "internal", hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });

  const requestId = crypto.randomUUID();
  const websiteReady = website.evaluate((id) => window.runWebsite(id), requestId);
  await website.waitForTimeout(300);
  const walletReady = wallet.evaluate((id) => window.runWallet(id), requestId);
  // page.evaluate has no timeout of its own: a pairing that never completes must fail here,
  // saying which side hung, not at the test's 120 s limit with every log lost.
  const within = (promise, side) => Promise.race([promise, new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`${side} did not pair within ${2 * timeout} ms`)), 2 * timeout)
      .unref())]);
  const [websiteSide, walletSide] = await Promise.all([
    within(websiteReady, "the website"), within(walletReady, "the wallet")]);
  if (shots) await website.screenshot({ path: `${shots}/website-paired.png` });

  await wallet.evaluate(() => window.channel.send("hello from the wallet"));
  await website.evaluate(() => window.channel.send("hello from the website"));
  const seen = (page, text) => page.waitForFunction((t) => window.received.includes(t), text, { timeout });
  await seen(website, "hello from the wallet");
  await seen(wallet, "hello from the website");
  process.stdout.write(JSON.stringify({
    requestId,
    website: { ...websiteSide, received: await website.evaluate(() => window.received) },
    wallet: { ...walletSide, received: await wallet.evaluate(() => window.received) },
    credentials: (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials.length,
  }) + "\n");
} finally {
  await browser.close();
}
