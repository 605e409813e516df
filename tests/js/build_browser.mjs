// Bundles liquid-client and tweetnacl into OUTDIR/liquid.js and copies the test pages beside it,
// so the node under test serves them from its own origin.
//   node build_browser.mjs OUTDIR
import { build } from "esbuild";
import { cpSync } from "node:fs";

const outdir = process.argv[2];
await build({
  entryPoints: ["browser/entry.js"],
  bundle: true,
  format: "iife",
  globalName: "Liquid",
  platform: "browser",
  outfile: `${outdir}/liquid.js`,
  logLevel: "error",
});
for (const page of ["website.html", "wallet.html"]) cpSync(`browser/${page}`, `${outdir}/${page}`);
process.stdout.write(JSON.stringify({ built: outdir }) + "\n");
