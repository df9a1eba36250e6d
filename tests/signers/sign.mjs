// Signs a webhook request the way the provider's own Node library does, for
// tests/tests/verify.rs. Reads {"scheme", "secret", "payload", "timestamp"}
// (JSON) on stdin, prints the request headers as a JSON object.
//   stripe  stripe.webhooks.generateTestHeaderString (npm `stripe`)
//   github  sign() of npm `@octokit/webhooks-methods`
import Stripe from "stripe";
import { sign } from "@octokit/webhooks-methods";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { scheme, secret, payload, timestamp } = JSON.parse(Buffer.concat(chunks).toString());

let headers;
if (scheme === "stripe") {
  const stripe = new Stripe("sk_test_unused");
  headers = {
    "Stripe-Signature": stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp }),
  };
} else if (scheme === "github") {
  headers = { "X-Hub-Signature-256": await sign(secret, payload) };
} else {
  throw new Error(`unknown scheme ${scheme}`);
}
process.stdout.write(JSON.stringify(headers));
