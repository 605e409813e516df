// Builds the demo a node serves from its static directory:
//   node build.mjs OUTDIR
// writes OUTDIR/index.html (the website), OUTDIR/wallet.html (the browser wallet) and their
// assets under OUTDIR/demo/ (website.js, wallet.js, demo.css), which the pages load by absolute
// path. Everything is bundled (liquid-client, socket.io-client, tweetnacl): the pages fetch
// nothing from elsewhere. Works offline once node_modules is installed.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const outdir = process.argv[2];
if (!outdir) {
  process.stderr.write("usage: node build.mjs OUTDIR\n");
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "src");
const out = resolve(outdir);
mkdirSync(join(out, "demo"), { recursive: true });

try {
  await build({
    absWorkingDir: here,
    entryPoints: [join(src, "website.js"), join(src, "wallet.js")],
    outdir: join(out, "demo"),
    bundle: true,
    format: "iife",
    platform: "browser",
    target: ["chrome100", "firefox100", "safari15"],
    minify: true,
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "error",
  });
  await build({
    absWorkingDir: here,
    entryPoints: [join(src, "demo.css")],
    outfile: join(out, "demo", "demo.css"),
    bundle: true,
    minify: true,
    logLevel: "error",
  });
  copyFileSync(join(src, "index.html"), join(out, "index.html"));
  copyFileSync(join(src, "wallet.html"), join(out, "wallet.html"));
} catch (error) {
  process.stderr.write(`build failed: ${error.message}\n`);
  process.exit(1);
}
process.stdout.write(JSON.stringify({ built: outdir }) + "\n");
