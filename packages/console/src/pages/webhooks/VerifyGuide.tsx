/** How a receiver checks a delivery: the Standard Webhooks headers, and @vidrelay/sdk's verifyWebhook. */

const SNIPPET = `import { verifyWebhook } from "@vidrelay/sdk";
import express from "express";

const app = express();
// Keep the raw body: a re-serialised object no longer matches the signature.
app.post("/webhooks/vidrelay", express.raw({ type: "application/json" }), async (req, res) => {
  try {
    const task = await verifyWebhook(req.body, req.headers, process.env.VIDRELAY_WEBHOOK_SECRET);
    console.log(task.id, task.status); // the task object, as GET /v1/video/generations/:id returns it
    res.sendStatus(204);
  } catch {
    res.sendStatus(400); // missing headers, stale timestamp or no matching signature
  }
});`;

export function VerifyGuide() {
  return (
    <div className="panel">
      <h2>Verifying deliveries</h2>
      <p>
        A task created with <code>metadata.callback_url</code> is delivered to it when it finishes. Every
        delivery is signed per <a href="https://www.standardwebhooks.com/">Standard Webhooks</a> with three
        headers:
      </p>
      <ul>
        <li>
          <code>webhook-id</code>: the delivery's id (<code>msg_…</code>), the same on every retry, so you can
          drop duplicates;
        </li>
        <li>
          <code>webhook-timestamp</code>: Unix seconds; reject deliveries more than a few minutes old;
        </li>
        <li>
          <code>webhook-signature</code>: <code>v1,&lt;base64 HMAC-SHA256 of "id.timestamp.body"&gt;</code>,
          space-separated; during a rotation's grace period it holds one signature per secret.
        </li>
      </ul>
      <p>
        <code>verifyWebhook</code> checks all three (with a 5-minute tolerance) and returns the parsed task:
      </p>
      <pre className="code-snippet">
        <code>{SNIPPET}</code>
      </pre>
    </div>
  );
}
