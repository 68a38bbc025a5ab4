#!/usr/bin/env node
import { main } from "../dist/harness/cli.js";

process.env.WRANGLER_SEND_METRICS ??= "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
process.exitCode = await main(process.argv.slice(2));
