// The demo a node serves (demo/ built into its STATIC_DIR), driven end to end in headless
// Chromium (Debian's, never a downloaded browser): the website page at ORIGIN/ and the browser
// wallet at ORIGIN/wallet, in two browser contexts (two devices). The wallet registers a passkey
// (CDP virtual authenticator), both pages reach "connected" over WebRTC and chat; then the wallet
// page is reloaded for a new website request and logs in with the stored passkey instead; last,
// a third website pairs although its `link` acknowledgement is held back until after the
// wallet's offer (the race liquid-client 1.0.0-canary.5 loses on its own).
//   node demo_e2e.mjs ORIGIN SCREENSHOT_DIR   (cwd tests/js; WALLET_PATH overrides "/wallet")
// One JSON line on stdout with what each side saw; exit 1 with the reasons on stderr otherwise.
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const [origin, shots] = process.argv.slice(2);
if (!origin) {
  process.stderr.write("usage: node demo_e2e.mjs ORIGIN [SCREENSHOT_DIR]\n");
  process.exit(2);
}
const walletPath = process.env.WALLET_PATH ?? "/wallet";
const timeout = Number(process.env.DEMO_TIMEOUT_MS ?? 30000);
const started = Date.now();
if (shots) mkdirSync(shots, { recursive: true });

// Checks that fail without stopping the run (so one report lists every broken part); anything
// that prevents the rest of the flow throws instead.
const failures = [];
const check = (ok, reason) => {
  if (!ok) failures.push(reason);
  return ok;
};

// Seconds since the start at which each step completed, for the summary.
const marks = {};
const mark = (name) => (marks[name] = Math.round((Date.now() - started) / 100) / 10);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--allow-loopback-in-peer-connection",
  ],
});

const summary = { origin, walletPath };
let exitCode = 1;
try {
  const device = async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    // Host ICE candidates are only exposed (instead of mDNS names) to pages holding a media
    // permission; nothing is captured.
    await context.grantPermissions(["camera", "microphone"], { origin });
    return context;
  };
  const open = async (context, name) => {
    const page = await context.newPage();
    page.setDefaultTimeout(timeout);
    page.on("console", (message) => process.stderr.write(`[${name}] ${message.text()}\n`));
    page.on("pageerror", (error) => process.stderr.write(`[${name} error] ${error.message}\n`));
    page.on("crash", () => process.stderr.write(`[${name} crashed]\n`));
    return page;
  };
  // Navigates and insists on a 2xx page (a 404 would otherwise only show as a status timeout).
  const visit = async (page, path) => {
    const response = await page.goto(`${origin}${path}`);
    if (!response?.ok()) {
      throw new Error(`GET ${path} answered ${response?.status() ?? "nothing"}; does the node serve the demo there? (WALLET_PATH=${walletPath})`);
    }
  };
  const shot = async (page, file) => {
    if (shots) await page.screenshot({ path: `${shots}/${file}`, fullPage: true });
  };
  const text = (page, id) => page.locator(`#${id}`).textContent();
  const waitStatus = (page, name, value) =>
    page
      .waitForFunction((v) => window.demo?.status() === v, value, { timeout })
      .catch(async () => {
        const now = await page.evaluate(() => window.demo?.status()).catch(() => "?");
        const hint = await text(page, "hint").catch(() => "");
        throw new Error(`${name} never reached "${value}" (status "${now}"; hint "${hint}")`);
      });
  // Both sides of a pairing reach "connected"; otherwise the error says where each one stuck.
  const pairing = async (sides) => {
    const results = await Promise.allSettled(sides.map(([page, name]) => waitStatus(page, name, "connected")));
    if (results.every((r) => r.status === "fulfilled")) return;
    const states = await Promise.all(
      sides.map(([page, name]) =>
        page
          .evaluate(() => {
            const pc = window.demo?.client?.peerClient;
            return {
              status: window.demo?.status(),
              trace: window.demo?.trace?.slice(0, 40),
              transport: window.demo?.client?.socket?.io?.engine?.transport?.name,
              pc: pc && {
                signaling: pc.signalingState,
                ice: pc.iceConnectionState,
                connection: pc.connectionState,
                remote: Boolean(pc.remoteDescription),
              },
            };
          })
          .then((state) => `${name} ${JSON.stringify(state)}`)
          .catch((error) => `${name} unreadable (${error.message})`),
      ),
    );
    throw new Error(`pairing did not connect: ${states.join("; ")}`);
  };
  const waitText = (page, name, id, pattern) =>
    page
      .waitForFunction(
        ([id, source]) => new RegExp(source).test(document.getElementById(id)?.textContent ?? ""),
        [id, pattern.source],
        { timeout },
      )
      .catch(async () => {
        throw new Error(`${name} #${id} never matched ${pattern} (shows "${await text(page, id)}")`);
      });
  const lines = (page) =>
    page.$$eval("#log > *", (items) => items.map((li) => ({ class: li.className, text: li.textContent })));
  // Sends `line` from one page and waits for it on the other, as a "received" line.
  const say = async (from, fromName, to, toName, line) => {
    await from.fill("#message", line);
    await from.click("#send");
    await from
      .locator("#log > .sent", { hasText: line })
      .waitFor({ timeout })
      .catch(() => {
        throw new Error(`${fromName} did not log its sent line "${line}"`);
      });
    await to
      .locator("#log > .received", { hasText: line })
      .waitFor({ timeout })
      .catch(() => {
        throw new Error(`${toName} never received "${line}"`);
      });
  };
  // The website page: fresh request, QR image, "waiting for a wallet".
  const openWebsite = async (context, name, shotFile, prepare) => {
    const page = await open(context, name);
    await prepare?.(page);
    await visit(page, "/");
    await page.waitForFunction(() => typeof window.demo?.requestId === "string", null, { timeout });
    const requestId = await page.evaluate(() => window.demo.requestId);
    await waitStatus(page, name, "waiting for a wallet");
    const deepLink = await text(page, "deep-link");
    check(
      deepLink === `liquid://${new URL(origin).host}/?requestId=${requestId}`,
      `${name} shows the deep link "${deepLink}"`,
    );
    const walletHref = await page.getAttribute("#open-wallet", "href");
    check(
      walletHref === `/wallet?requestId=${requestId}`,
      `${name}'s wallet link is "${walletHref}"`,
    );
    // The QR code is the node's SVG; wait until the image settles (loaded or broken).
    await page.waitForFunction(() => document.getElementById("qr")?.complete, null, { timeout });
    const qr = await page.$eval("#qr", (img) => ({ src: img.getAttribute("src"), naturalWidth: img.naturalWidth }));
    check(
      qr.src === `/demo/qr.svg?data=${encodeURIComponent(deepLink)}`,
      `${name}'s QR image points at "${qr.src}"`,
    );
    check(
      qr.naturalWidth > 0,
      `${name}'s QR image did not load: GET ${qr.src} gave no image (naturalWidth 0); does the node render /demo/qr.svg?`,
    );
    await shot(page, shotFile);
    return { page, requestId, deepLink, qr };
  };
  // What a page saw, for the summary.
  const observe = async (page) => ({
    statuses: await page.evaluate(() => [...window.demo.statuses]),
    presence: await text(page, "presence"),
    log: await lines(page),
    ...(await page.evaluate(() => (window.demo.trace ? { trace: window.demo.trace.slice(0, 40) } : {}))),
  });

  const websiteContext = await device();
  const walletContext = await device();

  // 1. Registration: a new wallet registers a passkey for the website's request.
  const first = await openWebsite(websiteContext, "website", "1-website-waiting-with-qr.png");
  const website = first.page;

  const wallet = await open(walletContext, "wallet");
  const cdp = await walletContext.newCDPSession(wallet);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2", ctap2Version: "ctap2_1", transport: "internal", hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  await visit(wallet, `${walletPath}?requestId=${encodeURIComponent(first.requestId)}`);
  await waitStatus(wallet, "wallet", "ready");
  const address = await text(wallet, "address");
  check(/^[A-Z2-7]{58}$/.test(address), `wallet shows the address "${address}"`);
  const registerLabel = await text(wallet, "register");
  check(await wallet.evaluate(() => window.demo.credId === null), "a new wallet already has a credential");
  await shot(wallet, "2-wallet-ready.png");
  mark("walletReady");

  await wallet.click("#register");
  mark("registerClicked");
  await pairing([[wallet, "wallet"], [website, "website"]]);
  mark("registerConnected");
  await waitText(website, "website", "presence", /^2 devices\b/);
  await waitText(wallet, "wallet", "presence", /^2 devices\b/);
  check((await text(website, "wallet")) === address, "the website shows another wallet than the wallet's address");
  const credId = await wallet.evaluate(() => window.demo.credId);
  check(typeof credId === "string" && credId.length > 0, "the wallet stored no credential id");
  await shot(website, "3-website-connected.png");
  await shot(wallet, "3-wallet-connected.png");

  await say(wallet, "wallet", website, "website", "hello from the wallet");
  await say(website, "website", wallet, "wallet", "hello from the website");
  await shot(website, "4-website-chat.png");
  await shot(wallet, "4-wallet-chat.png");
  mark("chatExchanged");

  const websiteSeen = await observe(website);
  const walletSeen = await observe(wallet);
  check(
    JSON.stringify(websiteSeen.statuses) === JSON.stringify(["waiting for a wallet", "linked", "connected"]),
    `website statuses ${JSON.stringify(websiteSeen.statuses)}`,
  );
  check(
    JSON.stringify(walletSeen.statuses) === JSON.stringify(["ready", "authenticated", "connected"]),
    `wallet statuses ${JSON.stringify(walletSeen.statuses)}`,
  );
  summary.register = {
    requestId: first.requestId,
    qr: first.qr,
    website: { ...websiteSeen, wallet: await text(website, "wallet") },
    wallet: { ...walletSeen, address, credId, button: registerLabel },
  };

  // 2. Login: a new website request; the wallet page, reloaded for it, logs in with its passkey.
  await website.close();
  const second = await openWebsite(websiteContext, "website 2", "5-website-2-waiting-with-qr.png");
  const website2 = second.page;
  await visit(wallet, `${walletPath}?requestId=${encodeURIComponent(second.requestId)}`);
  await waitStatus(wallet, "wallet", "ready");
  check((await text(wallet, "address")) === address, "the reloaded wallet shows another address");
  check((await wallet.evaluate(() => window.demo.credId)) === credId, "the reloaded wallet lost its credential");
  const loginLabel = await text(wallet, "register");
  check(/log in/i.test(loginLabel), `the reloaded wallet's button says "${loginLabel}", not a login`);
  await wallet.click("#register");
  mark("loginClicked");
  await pairing([[wallet, "wallet"], [website2, "website 2"]]);
  mark("loginConnected");
  await waitText(website2, "website 2", "presence", /^2 devices\b/);
  check((await text(website2, "wallet")) === address, "website 2 shows another wallet than the wallet's address");
  await say(wallet, "wallet", website2, "website 2", "hello again from the wallet");
  await say(website2, "website 2", wallet, "wallet", "hello again from the website");
  await shot(website2, "6-website-2-after-login.png");
  await shot(wallet, "6-wallet-after-login.png");
  mark("loginChatExchanged");

  const website2Seen = await observe(website2);
  const wallet2Seen = await observe(wallet);
  check(
    JSON.stringify(website2Seen.statuses) === JSON.stringify(["waiting for a wallet", "linked", "connected"]),
    `website 2 statuses ${JSON.stringify(website2Seen.statuses)}`,
  );
  check(
    JSON.stringify(wallet2Seen.statuses) === JSON.stringify(["ready", "authenticated", "connected"]),
    `wallet (login) statuses ${JSON.stringify(wallet2Seen.statuses)}`,
  );

  summary.login = {
    requestId: second.requestId,
    qr: second.qr,
    website: { ...website2Seen, wallet: await text(website2, "wallet") },
    wallet: { ...wallet2Seen, address, credId, button: loginLabel },
  };

  // 3. The race canary.5 loses: the wallet's offer reaching the website before the website's
  // `link` acknowledgement (seen under load). Playwright relays this website's WebSocket and holds
  // the acknowledgement back for 2 s; the page must still pair, and must not answer the replays
  // of the earlier requests that the node sends this session's new socket.
  await website2.close();
  let heldAcks = 0;
  const holdAcks = (page) =>
    page.routeWebSocket(/\/socket\.io\//, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((message) => server.send(message));
      server.onMessage((message) => {
        // Engine.IO message (4) carrying a Socket.IO ACK (3) with id 0: the answer to `link`,
        // the page's first acknowledged emit.
        if (typeof message === "string" && message.startsWith("430[")) {
          heldAcks += 1;
          setTimeout(() => ws.send(message), 2000);
        } else {
          ws.send(message);
        }
      });
    });
  const third = await openWebsite(websiteContext, "website 3", "7-website-3-waiting.png", holdAcks);
  const website3 = third.page;
  await website3.waitForFunction(
    () => window.demo.client?.socket?.io?.engine?.transport?.name === "websocket",
    null,
    { timeout },
  );
  await visit(wallet, `${walletPath}?requestId=${encodeURIComponent(third.requestId)}`);
  await waitStatus(wallet, "wallet", "ready");
  await wallet.click("#register");
  mark("raceClicked");
  await pairing([[wallet, "wallet"], [website3, "website 3"]]);
  mark("raceConnected");
  check(heldAcks === 1, `held back ${heldAcks} acknowledgements, not the one of link`);
  await say(wallet, "wallet", website3, "website 3", "hello despite the late acknowledgement");
  await say(website3, "website 3", wallet, "wallet", "hello back");
  await shot(website3, "8-website-3-connected-after-late-ack.png");
  mark("raceChatExchanged");
  const website3Seen = await observe(website3);
  const wallet3Seen = await observe(wallet);
  const handedOn = website3Seen.trace.filter(([, event]) => event.startsWith("(handed on")).length;
  check(handedOn > 0, "with the acknowledgement held back, no wallet signal arrived before it");
  check((await text(website3, "wallet")) === address, "website 3 shows another wallet than the wallet's address");
  check(
    JSON.stringify(website3Seen.statuses) === JSON.stringify(["waiting for a wallet", "linked", "connected"]),
    `website 3 statuses ${JSON.stringify(website3Seen.statuses)}`,
  );
  check(
    JSON.stringify(wallet3Seen.statuses) === JSON.stringify(["ready", "authenticated", "connected"]),
    `wallet (late acknowledgement) statuses ${JSON.stringify(wallet3Seen.statuses)}`,
  );
  summary.lateAck = {
    requestId: third.requestId,
    heldAcks,
    handedOn,
    website: { ...website3Seen, wallet: await text(website3, "wallet") },
    wallet: wallet3Seen,
  };

  const credentials = (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;
  check(credentials.length === 1, `the authenticator holds ${credentials.length} credentials, not 1`);
  summary.credentials = credentials.length;
  if (failures.length === 0) exitCode = 0;
} catch (error) {
  failures.push(error instanceof Error ? error.message : String(error));
} finally {
  await browser.close();
}
summary.marks = marks;
summary.seconds = Math.round((Date.now() - started) / 100) / 10;
summary.failures = failures;
if (shots) summary.screenshots = shots;
process.stdout.write(JSON.stringify(summary) + "\n");
for (const failure of failures) process.stderr.write(`FAILED: ${failure}\n`);
process.exit(exitCode);
