"""Signs a webhook request as the provider documents it, for
tests/tests/verify.rs. Reads {"scheme", "secret", "payload", "timestamp",
"id"} (JSON) on stdin, prints the request headers as a JSON object.

  standard  standardwebhooks.Webhook.sign (PyPI `standardwebhooks`)
  slack     Slack's recipe: "v0=" + hex HMAC-SHA256 of "v0:{timestamp}:{body}"
            (api.slack.com/authentication/verifying-requests-from-slack)
  shopify   Shopify's recipe: base64 HMAC-SHA256 of the raw body
            (shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook)
"""
import base64
import hashlib
import hmac
import json
import sys
from datetime import datetime, timezone

req = json.load(sys.stdin)
scheme, secret, payload = req["scheme"], req["secret"], req["payload"]
ts = req.get("timestamp")

if scheme == "standard":
    from standardwebhooks import Webhook

    at = datetime.fromtimestamp(ts, tz=timezone.utc)
    signature = Webhook(secret).sign(req["id"], at, payload)
    headers = {"webhook-id": req["id"], "webhook-timestamp": str(ts), "webhook-signature": signature}
elif scheme == "slack":
    basestring = f"v0:{ts}:{payload}".encode()
    digest = hmac.new(secret.encode(), basestring, hashlib.sha256).hexdigest()
    headers = {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}
elif scheme == "shopify":
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    headers = {"X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode()}
else:
    raise SystemExit(f"unknown scheme {scheme}")
json.dump(headers, sys.stdout)
